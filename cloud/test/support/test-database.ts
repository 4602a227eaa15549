import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, openDatabase } from '../../src/db/database.ts';

export interface TestDatabaseTarget {
  /** "pglite" or "postgres": put it in test names so a failure says which. */
  name: string;
  open(): Promise<Database>;
}

/**
 * The databases every cloud test runs against: PGlite in memory always, and PostgreSQL when
 * TEST_DATABASE_URL is set (.ci/run sets it when a local server answers). Each PostgreSQL open
 * creates a fresh database and drops it on close, so tests never see each other's rows.
 */
export function testDatabaseTargets(): TestDatabaseTarget[] {
  const targets: TestDatabaseTarget[] = [{ name: 'pglite', open: () => openDatabase({}) }];
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (adminUrl) targets.push({ name: 'postgres', open: () => openFreshPostgres(adminUrl) });
  return targets;
}

async function openFreshPostgres(adminUrl: string): Promise<Database> {
  const name = `wardgate_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString() });
  return {
    ...database,
    async close() {
      await database.close();
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await dropper.end();
    },
  };
}
