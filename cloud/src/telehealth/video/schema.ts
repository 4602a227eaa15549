import { bigserial, index, pgTable, text } from 'drizzle-orm/pg-core';
import { epochMs } from '../../db/epoch-ms.ts';

/**
 * What happened in an appointment's video room (joins, admissions, consent, recording, ends).
 * The visit's session runs from the first `admitted` (the host lets the patient in: the call
 * begins) to the first `ended` after it (the host ends the visit), or else the last `left`.
 */
export const videoRoomEvents = pgTable(
  'telehealth_video_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    appointmentId: text('appointment_id').notNull(),
    at: epochMs('at').notNull(),
    /** joined | left | waiting | admitted | recording-consent | recording-started | recording-stopped | ended */
    kind: text('kind').notNull(),
    userId: text('user_id'),
    /** host | patient */
    role: text('role'),
  },
  (t) => [index('telehealth_video_events_appointment').on(t.appointmentId, t.at)],
);

/** The visit chat transcript; bodies sealed (VIDEO_CHAT_BODY). */
export const videoChatMessages = pgTable(
  'telehealth_chat_messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    appointmentId: text('appointment_id').notNull(),
    senderUserId: text('sender_user_id').notNull(),
    senderRole: text('sender_role').notNull(),
    body: text('body').notNull(),
    sentAt: epochMs('sent_at').notNull(),
  },
  (t) => [index('telehealth_chat_messages_appointment').on(t.appointmentId, t.id)],
);
