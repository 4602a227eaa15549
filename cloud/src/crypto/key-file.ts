import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import {
  KEY_BYTES,
  type KeyMaterial,
  KeyRing,
  type KeySource,
  newKeyMaterial,
  withNewVersion,
} from './key-ring.ts';

const Base64Key = z
  .string()
  .refine(
    (s) => /^[A-Za-z0-9+/]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === KEY_BYTES,
    {
      message: `base64 of ${KEY_BYTES} bytes`,
    },
  );

/** The key file: `{ current, keys: [{ version, key, createdAt }], indexKey }`, keys in base64. */
const KeyFile = z.object({
  current: z.number().int().min(1),
  keys: z
    .array(
      z.object({
        version: z.number().int().min(1),
        key: Base64Key,
        createdAt: z.iso.datetime({ offset: true }),
      }),
    )
    .min(1),
  indexKey: Base64Key,
});
type KeyFile = z.infer<typeof KeyFile>;

/** Keys in a JSON file only its owner may read (mode 0600, checked on every load). */
export class FileKeySource implements KeySource {
  readonly path: string;
  readonly describe: string;

  constructor(path: string) {
    this.path = resolve(path);
    this.describe = `key file ${this.path}`;
  }

  async load(): Promise<KeyMaterial> {
    let text: string;
    try {
      await checkOwnerOnly(this.path);
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new Error(
          `no key file at ${this.path} (create one with: wardgate-cloud keys create --key-file ${this.path})`,
        );
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${this.describe} is not JSON`);
    }
    const parsed = KeyFile.safeParse(json);
    if (!parsed.success)
      throw new Error(
        `${this.describe} is not a wardgate key file: ${parsed.error.issues
          .map((i) => `${i.path.map(String).join('.') || '(file)'}: ${i.message}`)
          .join('; ')}`,
      );
    return fromFile(parsed.data);
  }
}

/** The ring of a key file. */
export function loadKeyRing(path: string): Promise<KeyRing> {
  return KeyRing.load(new FileKeySource(path));
}

/** Writes a new key file (version 1 and an index key, mode 0600); refuses to replace one. */
export async function createKeyFile(path: string): Promise<KeyRing> {
  const file = resolve(path);
  await mkdir(dirname(file), { recursive: true });
  writeOwnerOnly(file, newKeyMaterial(), 'wx');
  return loadKeyRing(file);
}

/**
 * Adds a key version to the file and makes it current: values sealed from then on use it, the
 * older versions stay for opening (startKeyRotation re-seals their rows). Returns the new version.
 */
export async function rotateKeyFile(path: string): Promise<number> {
  const source = new FileKeySource(path);
  const rotated = withNewVersion(await source.load());
  // A new file renamed over the old one: a crash leaves the old file or the new, never half of one.
  const temporary = `${source.path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeOwnerOnly(temporary, rotated, 'wx');
    await rename(temporary, source.path);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  return rotated.current;
}

/** Where the cloud keeps the key file of a PGlite data folder: beside it, never inside it. */
export function keyFileBeside(dataDir: string): string {
  const folder = resolve(dataDir);
  return join(dirname(folder), `${basename(folder)}.phi-keys.json`);
}

function writeOwnerOnly(path: string, material: KeyMaterial, flags: 'wx'): void {
  const fd = openSync(path, flags, 0o600);
  try {
    writeSync(fd, `${JSON.stringify(toFile(material), null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function checkOwnerOnly(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0)
    throw new Error(
      `key file ${path} may be read by others (mode ${(mode & 0o777).toString(8)}): chmod 600 ${path}`,
    );
}

function toFile(material: KeyMaterial): KeyFile {
  return {
    current: material.current,
    keys: material.keys.map((k) => ({
      version: k.version,
      key: Buffer.from(k.key).toString('base64'),
      createdAt: new Date(k.createdAt).toISOString(),
    })),
    indexKey: Buffer.from(material.indexKey).toString('base64'),
  };
}

function fromFile(file: KeyFile): KeyMaterial {
  return {
    current: file.current,
    keys: file.keys.map((k) => ({
      version: k.version,
      key: new Uint8Array(Buffer.from(k.key, 'base64')),
      createdAt: Date.parse(k.createdAt),
    })),
    indexKey: new Uint8Array(Buffer.from(file.indexKey, 'base64')),
  };
}
