/** The document types a visit may share, each recognised by its first bytes. */
export const ALLOWED_CONTENT_TYPES = ['application/pdf', 'image/png', 'image/jpeg', 'text/plain'];

const MAGIC: Record<string, number[]> = {
  'application/pdf': [0x25, 0x50, 0x44, 0x46, 0x2d], // %PDF-
  'image/png': [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  'image/jpeg': [0xff, 0xd8, 0xff],
};

/** Bytes needed before the type can be checked. */
export const SNIFF_BYTES = 8;

/**
 * The media type of a Content-Type header (lowercase, without parameters) when it is allowed,
 * else undefined. Plain text must be UTF-8 (or ASCII, its subset): that is what is checked and served.
 */
export function allowedMediaType(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const [type, ...params] = header.split(';').map((p) => p.trim().toLowerCase());
  if (!ALLOWED_CONTENT_TYPES.includes(type)) return undefined;
  if (type === 'text/plain') {
    const charset = params
      .find((p) => p.startsWith('charset='))
      ?.slice(8)
      .replace(/"/g, '');
    if (charset && charset !== 'utf-8' && charset !== 'us-ascii') return undefined;
  }
  return type;
}

/**
 * Checks that the content is what its type says, as it streams: binary types by their magic
 * bytes, plain text as valid UTF-8 without NUL (an executable or image labelled text/plain fails).
 */
export class ContentCheck {
  private readonly type: string;
  private head = Buffer.alloc(0);
  private headChecked = false;
  private readonly text: TextDecoder | undefined;

  constructor(type: string) {
    this.type = type;
    this.text = type === 'text/plain' ? new TextDecoder('utf-8', { fatal: true }) : undefined;
  }

  /** False once the content is known not to be of the type. */
  push(bytes: Uint8Array): boolean {
    if (this.text) {
      if (bytes.includes(0)) return false;
      try {
        this.text.decode(bytes, { stream: true });
      } catch {
        return false;
      }
      return true;
    }
    if (this.headChecked) return true;
    this.head = Buffer.concat([this.head, bytes.subarray(0, SNIFF_BYTES)]);
    if (this.head.length < SNIFF_BYTES) return this.magicSoFar();
    this.headChecked = true;
    return this.magicSoFar();
  }

  /** Whether the whole content was of the type. */
  finish(): boolean {
    if (this.text) {
      try {
        this.text.decode();
      } catch {
        return false;
      }
      return true;
    }
    const magic = MAGIC[this.type];
    return this.head.length >= magic.length && this.magicSoFar();
  }

  private magicSoFar(): boolean {
    const magic = MAGIC[this.type];
    const n = Math.min(magic.length, this.head.length);
    for (let i = 0; i < n; i++) if (this.head[i] !== magic[i]) return false;
    return true;
  }
}
