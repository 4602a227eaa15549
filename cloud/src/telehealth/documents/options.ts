/** Visit documents: how big, and when they may be shared. */
export interface DocumentOptions {
  /** Largest document in bytes (default 10 MiB). */
  maxBytes?: number;
  /** Plaintext bytes per secretstream message (default 64 KiB). */
  chunkBytes?: number;
  /** Sharing opens this long before the start (default 15 minutes, as the video room). */
  openBeforeStartMs?: number;
  /** And closes this long after the scheduled end (default 4 hours: what was asked for in the visit). */
  closeAfterEndMs?: number;
}

export const DEFAULT_DOCUMENT_MAX_BYTES = 10 * 1_048_576;
const MINUTE = 60_000;

export type DocumentSettings = Required<DocumentOptions>;

export function documentSettings(options: DocumentOptions = {}): DocumentSettings {
  const settings = {
    maxBytes: options.maxBytes ?? DEFAULT_DOCUMENT_MAX_BYTES,
    chunkBytes: options.chunkBytes ?? 64 * 1024,
    openBeforeStartMs: options.openBeforeStartMs ?? 15 * MINUTE,
    closeAfterEndMs: options.closeAfterEndMs ?? 240 * MINUTE,
  };
  for (const [name, value] of Object.entries(settings))
    if (!Number.isInteger(value) || value < (name === 'maxBytes' || name === 'chunkBytes' ? 1 : 0))
      throw new Error(
        `telehealth.documents.${name} must be a whole number of ${name.endsWith('Ms') ? 'milliseconds' : 'bytes'}, got ${value}`,
      );
  return settings;
}
