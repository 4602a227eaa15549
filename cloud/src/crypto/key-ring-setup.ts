import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { openOne } from './fhir-content.ts';
import { createKeyFile, keyFileBeside, loadKeyRing } from './key-file.ts';
import { ephemeralKeyRing, type KeyRing } from './key-ring.ts';

/** The ring of the key file beside a PGlite data folder, made (mode 0600) when there is none. */
export async function keyRingBeside(
  dataDir: string,
): Promise<{ ring: KeyRing; path: string; created: boolean }> {
  const path = keyFileBeside(dataDir);
  try {
    return { ring: await createKeyFile(path), path, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { ring: await loadKeyRing(path), path, created: false };
  }
}

/**
 * The key ring a cloud process uses: the key file given (`--key-file`, WARDGATE_KEY_FILE), else
 * for PGlite the one beside the data folder (made on first start, and said where), else for
 * PostgreSQL none: refused, since rows sealed with keys nobody kept could never be read again.
 * In memory (no data folder, no URL): fresh keys, like the data.
 */
export async function resolveKeyRing(options: {
  keyFile?: string;
  dataDir?: string;
  databaseUrl?: string;
  log?: (message: string) => void;
}): Promise<KeyRing> {
  if (options.keyFile) return loadKeyRing(options.keyFile);
  if (options.databaseUrl)
    throw new Error(
      'PostgreSQL (DATABASE_URL) needs the PHI key file: give --key-file or WARDGATE_KEY_FILE (make one with: wardgate-cloud keys create --key-file <path>)',
    );
  if (!options.dataDir) return ephemeralKeyRing();
  const { ring, path, created } = await keyRingBeside(options.dataDir);
  if (created)
    options.log?.(
      `phi: made the key file ${path} (mode 0600). Keep it, with a copy apart from the database and its backups: without it the patient records cannot be read.`,
    );
  return ring;
}

/**
 * Refuses a key ring that does not open this database's records (another install's key file, or a
 * new one made after the old was lost), before anything is written with it: one sealed resource
 * is opened as a check.
 */
export async function checkKeyRingFits(db: Db, ring: KeyRing): Promise<void> {
  const result = await db.execute(sql`
    select resource_type as "resourceType", id, version_id as "versionId", content
    from fhir_history where jsonb_typeof(content) = 'string' limit 1`);
  const [row] = rowsOf<{ resourceType: string; id: string; versionId: number; content: unknown }>(
    result,
  );
  if (!row) return;
  try {
    await openOne(ring, row);
  } catch (error) {
    throw new Error(
      `the PHI keys (${ring.describe}) do not open this database's records: ${(error as Error).message}. Use the key file this database was encrypted with.`,
    );
  }
}
