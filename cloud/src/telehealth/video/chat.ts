import { asc, eq, sql } from 'drizzle-orm';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { VIDEO_CHAT_BODY } from '../../crypto/sealed-text.ts';
import type { Db } from '../../db/database.ts';
import { rowsOf } from '../../db/results.ts';
import type { VisitRole } from '../appointments/visit.ts';
import { videoChatMessages } from './schema.ts';

/** Longest chat message, in characters. */
export const MAX_CHAT_CHARS = 4000;

export interface ChatMessage {
  id: number;
  senderUserId: string;
  senderRole: VisitRole;
  body: string;
  sentAt: number;
}

/** Stores one message of the visit chat, its body sealed to its row. */
export async function storeChatMessage(
  db: Db,
  message: Omit<ChatMessage, 'id'> & { appointmentId: string },
): Promise<ChatMessage> {
  // The id first: the sealed body is bound to its row.
  const [{ id }] = rowsOf<{ id: string }>(
    await db.execute(
      sql`select nextval(pg_get_serial_sequence('telehealth_chat_messages', 'id'))::text as id`,
    ),
  );
  await db.insert(videoChatMessages).values({
    ...message,
    id: Number(id),
    body: VIDEO_CHAT_BODY.seal(keyRingOf(db), id, message.body),
  });
  const { appointmentId: _, ...stored } = message;
  return { ...stored, id: Number(id) };
}

/** The visit's chat in the order it was written, bodies opened. */
export async function chatTranscript(db: Db, appointmentId: string): Promise<ChatMessage[]> {
  const rows = await db
    .select()
    .from(videoChatMessages)
    .where(eq(videoChatMessages.appointmentId, appointmentId))
    .orderBy(asc(videoChatMessages.id));
  const ring = keyRingOf(db);
  return Promise.all(
    rows.map(async (row) => ({
      id: row.id,
      senderUserId: row.senderUserId,
      senderRole: row.senderRole as VisitRole,
      body: (await VIDEO_CHAT_BODY.open(ring, row.id, row.body)) as string,
      sentAt: row.sentAt,
    })),
  );
}
