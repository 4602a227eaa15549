import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { VISIT_NOTES } from '../../crypto/sealed-text.ts';
import type { Db } from '../../db/database.ts';
import { visitNotes } from './schema.ts';

const APPOINTMENT_TYPES = [
  'consultation',
  'follow-up',
  'urgent-care',
  'mental-health',
  'specialist',
] as const;

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * PUT …/summary/notes: what the host tells the patient to do next, and when to come back —
 * in `inDays` days after the visit or on a `date` (YYYY-MM-DD), as an appointment of `type`.
 * followUp null: no follow-up needed.
 */
export const NotesBody = z
  .object({
    nextSteps: z.string().trim().min(1).max(4000),
    followUp: z
      .object({
        inDays: z.number().int().min(1).max(730).optional(),
        date: z
          .string()
          .regex(ISO_DATE, 'a date as YYYY-MM-DD')
          .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'not a calendar date')
          .optional(),
        type: z.enum(APPOINTMENT_TYPES),
      })
      .strict()
      .refine((f) => (f.inDays === undefined) !== (f.date === undefined), {
        message: 'give either inDays or date',
      })
      .nullable(),
  })
  .strict();

export type VisitNotes = z.infer<typeof NotesBody>;

export interface StoredNotes extends VisitNotes {
  writtenBy: string;
  updatedAt: number;
}

/** Writes (or rewrites) the notes of an appointment, sealed. */
export async function saveNotes(
  db: Db,
  appointmentId: string,
  notes: VisitNotes,
  writtenBy: string,
  at: number,
): Promise<void> {
  const sealed = VISIT_NOTES.seal(keyRingOf(db), appointmentId, JSON.stringify(notes));
  await db
    .insert(visitNotes)
    .values({ appointmentId, notes: sealed, writtenBy, updatedAt: at })
    .onConflictDoUpdate({
      target: visitNotes.appointmentId,
      set: { notes: sealed, writtenBy, updatedAt: at },
    });
}

/** The notes of an appointment, opened, or undefined when none were written. */
export async function loadNotes(db: Db, appointmentId: string): Promise<StoredNotes | undefined> {
  const [row] = await db
    .select()
    .from(visitNotes)
    .where(eq(visitNotes.appointmentId, appointmentId));
  if (!row) return undefined;
  const text = (await VISIT_NOTES.open(keyRingOf(db), appointmentId, row.notes)) as string;
  return {
    ...(JSON.parse(text) as VisitNotes),
    writtenBy: row.writtenBy,
    updatedAt: row.updatedAt,
  };
}
