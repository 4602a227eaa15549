import { pgTable, text } from 'drizzle-orm/pg-core';
import { epochMs } from '../../db/epoch-ms.ts';

/**
 * What the host wrote at the end of a visit: next steps and the follow-up, one sealed JSON text
 * (VISIT_NOTES), one row per appointment (rewritten when the host edits it).
 */
export const visitNotes = pgTable('telehealth_visit_notes', {
  appointmentId: text('appointment_id').primaryKey(),
  /** Sealed JSON: { nextSteps, followUp }. */
  notes: text('notes').notNull(),
  writtenBy: text('written_by').notNull(),
  updatedAt: epochMs('updated_at').notNull(),
});
