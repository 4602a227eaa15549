import sodium, { type StateAddress } from 'libsodium-wrappers';

/** Stored content that does not decrypt whole: altered, truncated, reordered or another key. */
export class DocumentIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DocumentIntegrityError';
  }
}

/**
 * Encrypts a document as it arrives with crypto_secretstream_xchacha20poly1305 under a fresh
 * key: messages of `chunkBytes` plaintext bytes, each bound to `ad` (the document id), the last
 * one tagged FINAL so a truncated stream does not decrypt. Output: header ‖ message ciphertexts.
 */
export class DocumentEncryptor {
  readonly key: Uint8Array;
  private readonly state: StateAddress;
  private readonly chunkBytes: number;
  private readonly ad: string;
  private readonly parts: Uint8Array[];
  private pending: Buffer = Buffer.alloc(0);

  constructor(chunkBytes: number, ad: string) {
    this.chunkBytes = chunkBytes;
    this.ad = ad;
    this.key = sodium.crypto_secretstream_xchacha20poly1305_keygen();
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(this.key);
    this.state = state;
    this.parts = [header];
  }

  push(bytes: Uint8Array): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, bytes]) : Buffer.from(bytes);
    // Strictly more than a message: the last full message must wait to learn it is the final one.
    while (this.pending.length > this.chunkBytes) {
      this.seal(this.pending.subarray(0, this.chunkBytes), false);
      this.pending = this.pending.subarray(this.chunkBytes);
    }
  }

  /** The whole ciphertext, the remaining bytes sealed as the FINAL message. */
  finish(): Buffer {
    this.seal(this.pending, true);
    this.pending = Buffer.alloc(0);
    return Buffer.concat(this.parts);
  }

  private seal(message: Uint8Array, final: boolean): void {
    const tag = final
      ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
      : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    this.parts.push(
      sodium.crypto_secretstream_xchacha20poly1305_push(this.state, message, this.ad, tag),
    );
  }
}

/**
 * The plaintext messages of a document, every one authenticated, the stream ending exactly at
 * its FINAL message; DocumentIntegrityError otherwise (nothing of a bad stream is returned).
 */
export function decryptDocument(
  ciphertext: Uint8Array,
  key: Uint8Array,
  chunkBytes: number,
  ad: string,
): Uint8Array[] {
  const headerBytes = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
  const tagBytes = sodium.crypto_secretstream_xchacha20poly1305_ABYTES;
  if (ciphertext.length < headerBytes + tagBytes)
    throw new DocumentIntegrityError('the stored document is too short');
  let state: StateAddress;
  try {
    state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(
      ciphertext.subarray(0, headerBytes),
      key,
    );
  } catch {
    throw new DocumentIntegrityError('the stored document header is not valid');
  }
  const messages: Uint8Array[] = [];
  let offset = headerBytes;
  while (offset < ciphertext.length) {
    const end = Math.min(offset + chunkBytes + tagBytes, ciphertext.length);
    let pulled: { message: Uint8Array; tag: number } | false;
    try {
      pulled = sodium.crypto_secretstream_xchacha20poly1305_pull(
        state,
        ciphertext.subarray(offset, end),
        ad,
      );
    } catch {
      pulled = false;
    }
    if (!pulled)
      throw new DocumentIntegrityError(
        `message ${messages.length + 1} of the document does not authenticate`,
      );
    messages.push(pulled.message);
    offset = end;
    if (pulled.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
      if (offset !== ciphertext.length)
        throw new DocumentIntegrityError('the stored document has bytes after its final message');
      return messages;
    }
    if (pulled.tag !== sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
      throw new DocumentIntegrityError('the stored document has an unexpected message tag');
  }
  throw new DocumentIntegrityError('the stored document is truncated (no final message)');
}
