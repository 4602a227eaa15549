import { createHash } from 'node:crypto';
import { ContentCheck } from './content-types.ts';
import type { DocumentSettings } from './options.ts';
import { DocumentEncryptor } from './secretstream.ts';

/** A document read from its upload stream and encrypted, with what is recorded of its plaintext. */
export interface EncryptedUpload {
  ciphertext: Buffer;
  key: Uint8Array;
  sizeBytes: number;
  /** Hex, recorded beside the ciphertext. */
  sha256: string;
  /** Base64, for FHIR Attachment.hash (SHA-1 by the specification). */
  sha1: string;
}

/** Why an upload stream was refused before it was stored. */
export type UploadRefusal = 'too_large' | 'content_mismatch' | 'empty';

/**
 * Reads an upload as it streams, checking its type and size and encrypting it message by
 * message; stops reading as soon as it is over `maxBytes` or not of `mediaType`.
 */
export async function encryptUpload(
  body: ReadableStream<Uint8Array>,
  documentId: string,
  mediaType: string,
  settings: DocumentSettings,
): Promise<EncryptedUpload | { refused: UploadRefusal }> {
  const reader = body.getReader();
  const check = new ContentCheck(mediaType);
  const encryptor = new DocumentEncryptor(settings.chunkBytes, documentId);
  const sha256 = createHash('sha256');
  const sha1 = createHash('sha1');
  let sizeBytes = 0;
  const stop = async (refused: UploadRefusal) => {
    await reader.cancel().catch(() => undefined);
    return { refused };
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    sizeBytes += value.length;
    if (sizeBytes > settings.maxBytes) return stop('too_large');
    if (!check.push(value)) return stop('content_mismatch');
    encryptor.push(value);
    sha256.update(value);
    sha1.update(value);
  }
  if (sizeBytes === 0) return { refused: 'empty' };
  if (!check.finish()) return { refused: 'content_mismatch' };
  return {
    ciphertext: encryptor.finish(),
    key: encryptor.key,
    sizeBytes,
    sha256: sha256.digest('hex'),
    sha1: sha1.digest('base64'),
  };
}
