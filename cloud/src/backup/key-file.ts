import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { BackupError } from './errors.ts';
import { KEY_BYTES } from './format.ts';

// A backup key file holds the 32-byte key in base64 on one line. It must be readable by its
// owner only: the key opens every backup.

/** Writes a new random key to `path` (mode 0600); refuses to replace an existing file. */
export async function generateBackupKeyFile(path: string): Promise<void> {
  const text = `${randomBytes(KEY_BYTES).toString('base64')}\n`;
  try {
    await writeFile(path, text, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new BackupError(`${path} already exists; a key file is never overwritten`);
    }
    throw error;
  }
}

/** Reads a key file; refuses one that others can read or that does not hold a 32-byte key. */
export async function readBackupKeyFile(path: string): Promise<Uint8Array> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (error) {
    throw new BackupError(`cannot read backup key file ${path}: ${(error as Error).message}`);
  }
  if (process.platform !== 'win32' && (Number(info.mode) & 0o077) !== 0) {
    throw new BackupError(
      `backup key file ${path} is accessible by others (mode ${(Number(info.mode) & 0o777).toString(8)}); chmod 600 it`,
    );
  }
  const text = (await readFile(path, 'utf8')).trim();
  const key = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== KEY_BYTES) {
    throw new BackupError(
      `backup key file ${path} does not hold a ${KEY_BYTES}-byte base64 key (make one with wardgate-cloud backup keygen)`,
    );
  }
  return new Uint8Array(key);
}
