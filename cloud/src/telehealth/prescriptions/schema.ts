import { index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { epochMs } from '../../db/epoch-ms.ts';

/**
 * A prescription's signing and its e-prescribing transmission, beside its FHIR MedicationRequest
 * (same id). transmission: pending | sent | failed. A pending row is claimed for one attempt by
 * moving next_attempt_at forward (a lease) in the same statement that counts the attempt.
 */
export const prescriptions = pgTable(
  'telehealth_prescriptions',
  {
    id: text('id').primaryKey(),
    appointmentId: text('appointment_id'),
    patientId: text('patient_id').notNull(),
    prescriberUserId: text('prescriber_user_id').notNull(),
    rxnormCode: text('rxnorm_code').notNull(),
    signedAt: epochMs('signed_at').notNull(),
    /** The alerts shown at signing with the override reason of each: JSON, sealed (PHI). */
    alerts: text('alerts').notNull(),
    /** The pharmacy's NCPDP id (the NewRx's Header/To). */
    pharmacyId: text('pharmacy_id').notNull(),
    transmission: text('transmission').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: epochMs('next_attempt_at'),
    lastError: text('last_error'),
    /** The NewRx's MessageID: the same on every attempt, so the pharmacy can drop a repeat. */
    messageId: text('message_id').notNull(),
    sentAt: epochMs('sent_at'),
  },
  (t) => [
    index('telehealth_prescriptions_pending').on(t.transmission, t.nextAttemptAt),
    index('telehealth_prescriptions_appointment').on(t.appointmentId, t.signedAt),
  ],
);
