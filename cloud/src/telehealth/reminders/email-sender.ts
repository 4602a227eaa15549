import nodemailer from 'nodemailer';
import type { ReminderMessage } from './message.ts';
import type { ReminderOptions } from './options.ts';

/** A failed send, described without PHI (no address, no server text that may echo one). */
export class SendError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SendError';
  }
}

export interface EmailSender {
  send(to: string, message: ReminderMessage): Promise<string | undefined>;
  close(): void;
}

/** E-mail over SMTP with nodemailer: smtp://host:port (STARTTLS when offered) or smtps://. */
export function emailSender(smtp: NonNullable<ReminderOptions['smtp']>): EmailSender {
  const transport = nodemailer.createTransport(smtp.url);
  return {
    async send(to, message) {
      try {
        const info = await transport.sendMail({
          from: smtp.from,
          to,
          subject: message.subject,
          text: message.text,
        });
        return info.messageId;
      } catch (error) {
        const e = error as { code?: string; responseCode?: number };
        throw new SendError(
          `SMTP send failed${e.code ? ` (${e.code})` : ''}${e.responseCode ? `: ${e.responseCode}` : ''}`,
        );
      }
    },
    close: () => transport.close(),
  };
}
