import { createHash } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { DOCUMENT_CONTENT_KEY } from '../../crypto/sealed-text.ts';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import {
  documentContentPath,
  fhirDocumentReference,
  type SharedDocument,
} from './document-reference.ts';
import { visitDocuments } from './schema.ts';
import { DocumentIntegrityError, decryptDocument } from './secretstream.ts';
import type { EncryptedUpload } from './upload.ts';

export type DocumentRow = typeof visitDocuments.$inferSelect;

/** A shared document as the API shows it (no content). */
export interface DocumentView {
  id: string;
  appointmentId: string;
  title: string | null;
  description: string | null;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  /** host | patient */
  sharedBy: string;
  uploadedAt: string;
  documentReference: string;
  url: string;
}

/** Stores the encrypted content and its DocumentReference together. */
export async function saveDocument(
  db: Db,
  shared: SharedDocument & { uploadedBy: string },
  upload: EncryptedUpload,
  chunkBytes: number,
): Promise<DocumentView> {
  const ring = keyRingOf(db);
  const reference = fhirDocumentReference(shared);
  const row = {
    id: shared.id,
    appointmentId: shared.visit.appointmentId,
    patientId: shared.visit.patientId,
    uploadedBy: shared.uploadedBy,
    uploaderRole: shared.uploaderRole,
    contentType: shared.contentType,
    sizeBytes: upload.sizeBytes,
    sha256: upload.sha256,
    wrappedKey: DOCUMENT_CONTENT_KEY.seal(
      ring,
      shared.id,
      Buffer.from(upload.key).toString('base64'),
    ),
    chunkBytes,
    ciphertext: upload.ciphertext,
    uploadedAt: shared.at,
  };
  await db.transaction(async (tx) => {
    await tx.insert(visitDocuments).values(row);
    await new ResourceStore(tx as unknown as Db).update(reference);
  });
  return viewOf(row, reference);
}

/** The documents of an appointment, oldest first (content not loaded). */
export async function listDocuments(db: Db, appointmentId: string): Promise<DocumentView[]> {
  const rows = await db
    .select({
      id: visitDocuments.id,
      appointmentId: visitDocuments.appointmentId,
      uploaderRole: visitDocuments.uploaderRole,
      contentType: visitDocuments.contentType,
      sizeBytes: visitDocuments.sizeBytes,
      sha256: visitDocuments.sha256,
      uploadedAt: visitDocuments.uploadedAt,
    })
    .from(visitDocuments)
    .where(eq(visitDocuments.appointmentId, appointmentId))
    .orderBy(asc(visitDocuments.uploadedAt), asc(visitDocuments.id));
  const store = new ResourceStore(db);
  return Promise.all(
    rows.map(async (row) =>
      viewOf(row, (await store.read('DocumentReference', row.id))?.resource ?? undefined),
    ),
  );
}

/** A document's row with its ciphertext, or undefined. */
export async function loadDocument(db: Db, id: string): Promise<DocumentRow | undefined> {
  const [row] = await db.select().from(visitDocuments).where(eq(visitDocuments.id, id));
  return row;
}

/** A document's DocumentReference (title and description live there). */
export async function documentReferenceOf(db: Db, id: string) {
  return (await new ResourceStore(db).read('DocumentReference', id))?.resource ?? undefined;
}

/**
 * The plaintext of a stored document, every message authenticated and the whole checked against
 * the recorded SHA-256; DocumentIntegrityError when anything does not match.
 */
export async function openDocument(db: Db, row: DocumentRow): Promise<Uint8Array[]> {
  let key: Buffer;
  try {
    const opened = await DOCUMENT_CONTENT_KEY.open(keyRingOf(db), row.id, row.wrappedKey);
    key = Buffer.from(opened as string, 'base64');
  } catch {
    throw new DocumentIntegrityError('the document key does not open');
  }
  const messages = decryptDocument(row.ciphertext, key, row.chunkBytes, row.id);
  const hash = createHash('sha256');
  let size = 0;
  for (const m of messages) {
    hash.update(m);
    size += m.length;
  }
  if (size !== row.sizeBytes || hash.digest('hex') !== row.sha256)
    throw new DocumentIntegrityError('the document does not match its recorded SHA-256');
  return messages;
}

type ViewRow = Pick<
  DocumentRow,
  'id' | 'appointmentId' | 'uploaderRole' | 'contentType' | 'sizeBytes' | 'sha256' | 'uploadedAt'
>;

function viewOf(row: ViewRow, reference: Record<string, unknown> | undefined): DocumentView {
  const content = reference?.content as { attachment?: { title?: string } }[] | undefined;
  return {
    id: row.id,
    appointmentId: row.appointmentId,
    title: content?.[0]?.attachment?.title ?? null,
    description: (reference?.description as string | undefined) ?? null,
    contentType: row.contentType,
    sizeBytes: row.sizeBytes,
    sha256: row.sha256,
    sharedBy: row.uploaderRole,
    uploadedAt: new Date(row.uploadedAt).toISOString(),
    documentReference: `DocumentReference/${row.id}`,
    url: documentContentPath(row.id),
  };
}
