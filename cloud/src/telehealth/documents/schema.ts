import { bigint, customType, index, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { epochMs } from '../../db/epoch-ms.ts';

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/**
 * A document shared in a visit: its DocumentReference and Binary ids, and the content encrypted
 * with libsodium secretstream under a per-document key that is itself sealed by the key ring.
 */
export const visitDocuments = pgTable(
  'telehealth_documents',
  {
    /** The DocumentReference id. */
    id: text('id').primaryKey(),
    binaryId: text('binary_id').notNull().unique(),
    appointmentId: text('appointment_id').notNull(),
    patientId: text('patient_id').notNull(),
    uploadedBy: text('uploaded_by').notNull(),
    contentType: text('content_type').notNull(),
    sizeBytes: bigint('size_bytes', { mode: 'number' }).notNull(),
    sha256: text('sha256').notNull(),
    /** The per-document secretstream key, sealed by the key ring. */
    wrappedKey: text('wrapped_key').notNull(),
    chunkBytes: integer('chunk_bytes').notNull(),
    ciphertext: bytea('ciphertext').notNull(),
    uploadedAt: epochMs('uploaded_at').notNull(),
  },
  (t) => [index('telehealth_documents_appointment').on(t.appointmentId)],
);
