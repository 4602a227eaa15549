import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { bindKeyRing } from '../crypto/db-key-ring.ts';
import { ephemeralKeyRing, type KeyRing } from '../crypto/key-ring.ts';
import { keyRingBeside } from '../crypto/key-ring-setup.ts';
import { moveLegacyPatients } from '../patients/legacy-patients.ts';
import * as schema from './schema.ts';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  /** "pglite:<folder>" or "postgres://host/db" without credentials, for logs. */
  describe: string;
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/**
 * PostgreSQL when `databaseUrl` is given (production, several replicas), else PGlite — real
 * Postgres compiled to WASM, in-process — with its data in `dataDir` (or in memory when neither
 * is given). Pending migrations are applied before this resolves. `keyRing` seals and opens the
 * PHI columns (crypto/); found again with keyRingOf(db). Without one: the key file beside
 * `dataDir` (made on first use), else fresh in-memory keys (tests) — startCloud and the CLI
 * refuse PostgreSQL without a key file.
 */
export async function openDatabase(options: {
  databaseUrl?: string;
  dataDir?: string;
  keyRing?: KeyRing;
  /** Told when the server drops an idle pooled connection (PostgreSQL only). */
  onIdleError?: (error: Error) => void;
}): Promise<Database> {
  const keyRing =
    options.keyRing ??
    (options.dataDir && !options.databaseUrl
      ? (await keyRingBeside(options.dataDir)).ring
      : await ephemeralKeyRing());
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 });
    // An idle connection the server drops (restart, failover, admin) is an 'error' event on the
    // pool; unheard, it would end the process. The pool replaces the connection by itself.
    pool.on('error', (error) => options.onIdleError?.(error));
    const db = drizzlePg(pool, { schema });
    bindKeyRing(db as unknown as Db, keyRing);
    await migratePg(db, { migrationsFolder });
    await moveLegacyPatients(db as unknown as Db);
    const url = new URL(options.databaseUrl);
    return {
      db: db as unknown as Db,
      describe: `postgres://${url.host}${url.pathname}`,
      close: () => pool.end(),
    };
  }
  if (options.dataDir) mkdirSync(options.dataDir, { recursive: true });
  const client = new PGlite(options.dataDir);
  const db = drizzlePglite(client, { schema });
  bindKeyRing(db as unknown as Db, keyRing);
  await migratePglite(db, { migrationsFolder });
  await moveLegacyPatients(db as unknown as Db);
  return {
    db: db as unknown as Db,
    describe: options.dataDir ? `pglite:${options.dataDir}` : 'pglite:memory',
    close: () => client.close(),
  };
}
