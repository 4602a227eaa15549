import { bigint, customType, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { epochMs } from '../../db/epoch-ms.ts';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/**
 * A document shared in a visit (same id as its FHIR DocumentReference, which holds the title and
 * description): the content encrypted with libsodium secretstream under a per-document key that
 * is itself sealed by the key ring (DOCUMENT_CONTENT_KEY).
 */
export const visitDocuments = pgTable(
  'telehealth_documents',
  {
    /** The DocumentReference id. */
    id: text('id').primaryKey(),
    appointmentId: text('appointment_id').notNull(),
    patientId: text('patient_id').notNull(),
    uploadedBy: text('uploaded_by').notNull(),
    /** host | patient */
    uploaderRole: text('uploader_role').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    /** Of the plaintext, hex. */
    sha256: text('sha256').notNull(),
    /** The per-document secretstream key, sealed by the key ring. */
    wrappedKey: text('wrapped_key').notNull(),
    /** Plaintext bytes per secretstream message (the last one may be shorter). */
    chunkBytes: integer('chunk_bytes').notNull(),
    /** The secretstream header, then each message's ciphertext. */
    ciphertext: bytea('ciphertext').notNull(),
    uploadedAt: epochMs('uploaded_at').notNull(),
  },
  (t) => [index('telehealth_documents_appointment').on(t.appointmentId)],
);
