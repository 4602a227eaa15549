import { SendError } from './email-sender.ts';
import type { ReminderMessage } from './message.ts';
import type { ReminderOptions } from './options.ts';

/**
 * The SMS provider adapter. The HTTP API it speaks (Twilio-like, JSON):
 *
 *   POST <url>
 *   Authorization: Bearer <apiKey>
 *   Content-Type: application/json
 *   Idempotency-Key: <reminder id>    (the provider sends one message per key)
 *   {"from": "<sender id>", "to": "+31612345678", "body": "<text>"}
 *
 *   → 201 or 200 {"id": "<provider message id>", "status": "queued" | "sent"}
 *   → any other status, or no answer within the timeout: not sent (retried later).
 */
export interface SmsSender {
  send(to: string, message: ReminderMessage, idempotencyKey: string): Promise<string | undefined>;
}

const TIMEOUT_MS = 30_000;

export function smsSender(sms: NonNullable<ReminderOptions['sms']>): SmsSender {
  return {
    async send(to, message, idempotencyKey) {
      let response: Response;
      try {
        response = await fetch(sms.url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${sms.apiKey}`,
            'content-type': 'application/json',
            'idempotency-key': idempotencyKey,
          },
          body: JSON.stringify({ from: sms.from, to, body: message.sms }),
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (error) {
        throw new SendError(`SMS provider unreachable (${(error as Error).name})`);
      }
      const text = await response.text();
      if (response.status !== 200 && response.status !== 201)
        throw new SendError(`SMS provider answered ${response.status}`);
      try {
        const id = (JSON.parse(text) as { id?: unknown }).id;
        return typeof id === 'string' ? id : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
