import { createHash, createHmac, type Hash } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import sodium, { type StateAddress } from 'libsodium-wrappers';
import { BackupFileError } from './errors.ts';

// A backup file, all integers big-endian:
//   "WGBACKUP" | u8 format version | u32 n | n bytes of header JSON (plaintext: no PHI in it)
//   | 24-byte secretstream header | frames: u32 length | ciphertext
// Each frame is one crypto_secretstream_xchacha20poly1305 message holding one deflated JSON
// record. The first message carries everything before the secretstream header as additional
// data, so the plaintext header is authenticated; the last one, and only it, is tagged FINAL, so a
// truncated file is told from a complete one. Messages are chained: dropping, reordering or
// editing one fails the next pull.

const MAGIC = Buffer.from('WGBACKUP', 'latin1');
export const FORMAT_VERSION = 1;
const PREFIX_BYTES = MAGIC.length + 1 + 4;
const MAX_HEADER_BYTES = 64 * 1024;
const MAX_FRAME_BYTES = 256 * 1024 * 1024;
export const KEY_BYTES = 32;

const deflate = promisify(deflateRaw);
const inflate = promisify(inflateRaw);

/** The schema version a backup was taken at: the drizzle migrations applied to its database. */
export interface SchemaLevel {
  migrations: number;
  /** Tag of the last migration (e.g. "0013_security"), null when unknown to this build. */
  lastTag: string | null;
  /** SHA-256 of the last migration's SQL as drizzle recorded it. */
  lastHash: string | null;
}

export interface BackupHeader {
  format: number;
  createdAt: number;
  /** The backup_runs row of this backup in the source database. */
  runId: string;
  /** Names the key without revealing it, so a wrong key is told from a damaged file. */
  keyId: string;
  schema: SchemaLevel;
  compression: 'deflate-raw';
}

export interface TableLayout {
  name: string;
  columns: string[];
}

export interface SequenceState {
  name: string;
  /** bigint as text. */
  lastValue: string;
  isCalled: boolean;
}

/** Every column of a row as PostgreSQL's text form (null for SQL NULL): exact for any type. */
export type TextRow = (string | null)[];

export type BackupRecord =
  | { type: 'tables'; tables: TableLayout[] }
  | { type: 'rows'; table: number; rows: TextRow[] }
  | { type: 'table-end'; table: number; rows: number; digest: string }
  | { type: 'sequences'; sequences: SequenceState[] }
  | { type: 'end'; tables: number; rows: number };

let sodiumReady: Promise<void> | undefined;
export function readySodium(): Promise<void> {
  sodiumReady ??= sodium.ready;
  return sodiumReady;
}

export function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new BackupFileError(`a backup key is ${KEY_BYTES} bytes, got ${key?.length ?? 0}`);
  }
}

/** A short public name of a key: HMAC of a fixed label, 8 bytes hex. */
export function backupKeyId(key: Uint8Array): string {
  checkKey(key);
  return createHmac('sha256', key).update('wardgate backup key id').digest('hex').slice(0, 16);
}

function headerBytes(header: BackupHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt8(header.format, MAGIC.length);
  prefix.writeUInt32BE(json.length, MAGIC.length + 1);
  return Buffer.concat([prefix, json]);
}

/** Writes a backup file: the header, then records, the last one with finish(). */
export class BackupWriter {
  private readonly handle: FileHandle;
  private readonly state: StateAddress;
  private readonly hash: Hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private additionalData: Uint8Array | null;
  bytes = 0;
  /** Bytes of the records before compression and encryption (the size of the data itself). */
  plainBytes = 0;

  private constructor(handle: FileHandle, state: StateAddress, additionalData: Buffer) {
    this.handle = handle;
    this.state = state;
    this.additionalData = additionalData;
  }

  /** Creates `path` (which must not exist, mode 0600) and writes the header. */
  static async create(path: string, header: BackupHeader, key: Uint8Array): Promise<BackupWriter> {
    await readySodium();
    checkKey(key);
    const prefix = headerBytes(header);
    const handle = await open(path, 'wx', 0o600);
    const { state, header: streamHeader } =
      sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    const writer = new BackupWriter(handle, state, prefix);
    writer.queue(prefix);
    writer.queue(Buffer.from(streamHeader));
    return writer;
  }

  async write(record: BackupRecord): Promise<void> {
    await this.push(record, sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
  }

  /** Writes the last record, flushes and fsyncs the file, and closes it. */
  async finish(
    record: BackupRecord,
  ): Promise<{ bytes: number; plainBytes: number; sha256: string }> {
    await this.push(record, sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    await this.flush();
    await this.handle.sync();
    await this.handle.close();
    return { bytes: this.bytes, plainBytes: this.plainBytes, sha256: this.hash.digest('hex') };
  }

  /** Closes the file after a failure (the caller removes it). */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => {});
  }

  private async push(record: BackupRecord, tag: number): Promise<void> {
    const json = Buffer.from(JSON.stringify(record), 'utf8');
    this.plainBytes += json.length;
    const plain = await deflate(json, { level: 1 });
    const cipher = sodium.crypto_secretstream_xchacha20poly1305_push(
      this.state,
      plain,
      this.additionalData,
      tag,
    );
    this.additionalData = null;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(cipher.length);
    this.queue(length);
    this.queue(Buffer.from(cipher.buffer, cipher.byteOffset, cipher.byteLength));
    if (this.pendingBytes >= 1 << 20) await this.flush();
  }

  private queue(bytes: Buffer): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.hash.update(bytes);
    this.bytes += bytes.length;
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, written);
      written += bytesWritten;
    }
  }
}

/** Reads a file in blocks, hashing every byte read. */
class BlockReader {
  private buffer = Buffer.alloc(0);
  private offset = 0;
  private eof = false;
  readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private readonly handle: FileHandle;

  constructor(handle: FileHandle) {
    this.handle = handle;
  }

  /** Exactly n bytes, or fewer only at the end of the file. */
  async read(n: number): Promise<Buffer> {
    while (this.buffer.length - this.offset < n && !this.eof) {
      const block = Buffer.alloc(Math.max(1 << 20, n));
      const { bytesRead } = await this.handle.read(block, 0, block.length, null);
      if (bytesRead === 0) {
        this.eof = true;
        break;
      }
      this.hash.update(block.subarray(0, bytesRead));
      this.bytes += bytesRead;
      this.buffer = Buffer.concat([
        this.buffer.subarray(this.offset),
        block.subarray(0, bytesRead),
      ]);
      this.offset = 0;
    }
    const end = Math.min(this.offset + n, this.buffer.length);
    const out = this.buffer.subarray(this.offset, end);
    this.offset = end;
    return out;
  }
}

function parseHeader(prefix: Buffer, json: Buffer, file: string): BackupHeader {
  let header: BackupHeader;
  try {
    header = JSON.parse(json.toString('utf8'));
  } catch {
    throw new BackupFileError(`${file}: the backup header is damaged`);
  }
  if (header.format !== prefix.readUInt8(MAGIC.length)) {
    throw new BackupFileError(`${file}: the backup header is damaged`);
  }
  return header;
}

async function readPrefix(reader: BlockReader, file: string) {
  const prefix = await reader.read(PREFIX_BYTES);
  if (prefix.length < PREFIX_BYTES || !prefix.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new BackupFileError(`${file} is not a wardgate backup`);
  }
  const version = prefix.readUInt8(MAGIC.length);
  if (version !== FORMAT_VERSION) {
    throw new BackupFileError(
      `${file} has backup format ${version}; this wardgate reads format ${FORMAT_VERSION}`,
    );
  }
  const length = prefix.readUInt32BE(MAGIC.length + 1);
  if (length > MAX_HEADER_BYTES) throw new BackupFileError(`${file}: the backup header is damaged`);
  const json = await reader.read(length);
  if (json.length < length) throw new BackupFileError(`${file} is truncated (in its header)`);
  return { header: parseHeader(prefix, json, file), headerBytes: Buffer.concat([prefix, json]) };
}

/** The plaintext header of a backup file (no key needed; not authenticated until decrypted). */
export async function readBackupHeader(file: string): Promise<BackupHeader> {
  const handle = await open(file, 'r');
  try {
    return (await readPrefix(new BlockReader(handle), file)).header;
  } finally {
    await handle.close();
  }
}

export interface BackupReading {
  header: BackupHeader;
  /** The records in order; throws BackupFileError on any damage, before yielding damaged data. */
  records: AsyncGenerator<BackupRecord>;
  /** After records are exhausted: the file's size and SHA-256. */
  fileDigest(): { bytes: number; sha256: string };
  /** Closes the file (also done when records end or fail). */
  close(): Promise<void>;
}

/**
 * Opens a backup for reading with `key`. When this resolves the header is authenticated (by the
 * first message); the rest is authenticated message by message as the records are read.
 */
export async function openBackup(file: string, key: Uint8Array): Promise<BackupReading> {
  await readySodium();
  checkKey(key);
  const handle = await open(file, 'r');
  const reader = new BlockReader(handle);
  let header: BackupHeader;
  let authenticated: Buffer;
  try {
    ({ header, headerBytes: authenticated } = await readPrefix(reader, file));
  } catch (error) {
    await handle.close();
    throw error;
  }
  const ours = backupKeyId(key);
  if (header.keyId !== ours) {
    await handle.close();
    throw new BackupFileError(
      `${file} was made with another key (key id ${header.keyId}; the key given has id ${ours})`,
    );
  }
  if (header.compression !== 'deflate-raw') {
    await handle.close();
    throw new BackupFileError(`${file}: unknown compression "${header.compression}"`);
  }

  let digest: { bytes: number; sha256: string } | undefined;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= handle.close().catch(() => {});
    return closed;
  };
  let state: StateAddress | undefined;
  let additionalData: Uint8Array | null = authenticated;
  let index = 0;
  /** The next message, authenticated; throws BackupFileError on any damage. */
  async function pull(): Promise<{ record: BackupRecord; final: boolean }> {
    const HEADERBYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES;
    if (!state) {
      const streamHeader = await reader.read(HEADERBYTES);
      if (streamHeader.length < HEADERBYTES) {
        throw new BackupFileError(`${file} is truncated (no encrypted data)`);
      }
      try {
        state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(streamHeader, key);
      } catch {
        throw new BackupFileError(`${file} is damaged (stream header)`);
      }
    }
    const lengthBytes = await reader.read(4);
    if (lengthBytes.length === 0) {
      throw new BackupFileError(`${file} is truncated (after ${index} messages, no final one)`);
    }
    if (lengthBytes.length < 4) throw new BackupFileError(`${file} is truncated`);
    const length = lengthBytes.readUInt32BE();
    if (length > MAX_FRAME_BYTES || length < sodium.crypto_secretstream_xchacha20poly1305_ABYTES) {
      throw new BackupFileError(`${file} is damaged (message ${index} has a bad length)`);
    }
    const cipher = await reader.read(length);
    if (cipher.length < length) throw new BackupFileError(`${file} is truncated`);
    let pulled: { message: Uint8Array; tag: number } | false;
    try {
      pulled = sodium.crypto_secretstream_xchacha20poly1305_pull(state, cipher, additionalData);
    } catch {
      pulled = false;
    }
    if (!pulled) {
      throw new BackupFileError(
        index === 0
          ? `${file} is damaged or was edited (its header or first message does not authenticate)`
          : `${file} is damaged or was edited (message ${index} does not authenticate)`,
      );
    }
    additionalData = null;
    index++;
    const final = pulled.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (final && (await reader.read(1)).length > 0) {
      throw new BackupFileError(`${file} has data after its final message`);
    }
    const plain = await inflate(pulled.message);
    return { record: JSON.parse(plain.toString('utf8')) as BackupRecord, final };
  }

  // The first message is read now: it authenticates the header before anyone acts on it.
  let first: { record: BackupRecord; final: boolean };
  try {
    first = await pull();
  } catch (error) {
    await close();
    throw error;
  }

  async function* records(): AsyncGenerator<BackupRecord> {
    try {
      let next = first;
      for (;;) {
        yield next.record;
        if (next.final) return;
        next = await pull();
      }
    } finally {
      await close();
    }
  }

  return {
    close,
    header,
    records: records(),
    fileDigest: () => {
      digest ??= { bytes: reader.bytes, sha256: reader.hash.digest('hex') };
      return digest;
    },
  };
}

/** Removes a file, ignoring that it is already gone. */
export async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
