import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { codeSchemaLevel, describeSchemaLevel } from '../src/backup/catalog.ts';
import {
  applicationTables,
  createBackup,
  lastVerifiedBackup,
  RestoreRefusedError,
  restoreBackup,
  schemaTableNames,
  verifyBackup,
} from '../src/backup/index.ts';
import type { Database } from '../src/db/database.ts';
import { rowsOf } from '../src/db/results.ts';
import { backupRuns } from '../src/db/schema.ts';
import { backupKey, seedBackupData, snapshotOf } from './support/backup-fixtures.ts';
import { testDatabaseTargets } from './support/test-database.ts';

for (const target of testDatabaseTargets()) {
  const test = suite(`backup round trip (${target.name})`);
  const key = backupKey();
  let dir = '';
  let source: Database;
  const opened: Database[] = [];
  const open = async () => {
    const database = await target.open();
    opened.push(database);
    return database;
  };

  test.before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wardgate-backup-'));
    source = await open();
    await seedBackupData(source.db, { readings: 2500 });
  });
  test.after(async () => {
    for (const database of opened) await database.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('every table of the schema is in the backup', async () => {
    const tables = (await applicationTables(source.db)).map((t) => t.name);
    for (const name of schemaTableNames()) assert.ok(tables.includes(name), name);
  });

  test('backup, restore into a fresh database: every table and sequence identical', async () => {
    const tables = (await applicationTables(source.db)).map((t) => t.name);
    const before = await snapshotOf(source.db, tables);
    const backup = await createBackup(source.db, { dir, key, batchRows: 700 });
    assert.is(basename(backup.file), readdirName(await readdir(dir)));
    assert.match(
      basename(backup.file),
      /^wardgate-backup-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.wgbak$/,
    );
    assert.is((await stat(backup.file)).size, backup.bytes);
    assert.is((await stat(backup.file)).mode & 0o777, 0o600);
    assert.equal(backup.schema, codeSchemaLevel());
    const readings = backup.tables.find((t) => t.name === 'readings');
    assert.is(readings?.rows, 2502);
    assert.is(
      backup.rows,
      Object.entries(before)
        .filter(([name]) => !name.startsWith('sequence '))
        .reduce((sum, [, rows]) => sum + rows.length, 0),
    );

    const [run] = await source.db.select().from(backupRuns);
    assert.is(run.id, backup.id);
    assert.is(run.file, backup.file);
    assert.is(run.sha256, backup.sha256);
    assert.is(run.bytes, backup.bytes);
    assert.is(run.rows, backup.rows);
    assert.is(run.error, null);
    assert.is(run.verifiedAt, null);

    const fresh = await open();
    const restored = await restoreBackup(backup.file, key, fresh.db);
    assert.is(restored.rows, backup.rows);
    const after = await snapshotOf(fresh.db, tables);
    // The source's own backup_runs row was written after the snapshot: not in the backup.
    assert.equal(after.backup_runs, []);
    for (const table of Object.keys(before)) {
      if (table === 'backup_runs') continue;
      assert.equal(after[table], before[table], `${table} differs after restore`);
    }
  });

  test('restored sequences continue past the restored ids; the audit log stays append-only', async () => {
    const backup = await createBackup(source.db, { dir, key });
    const fresh = await open();
    await restoreBackup(backup.file, key, fresh.db);
    const [inserted] = rowsOf<{ id: string }>(
      await fresh.db.execute(
        sql`insert into ingest_rejections (topic, code, message, received_at) values ('t', 'c', 'm', 1) returning id::text`,
      ),
    );
    const [sourceNext] = rowsOf<{ id: string }>(
      await source.db.execute(
        sql`insert into ingest_rejections (topic, code, message, received_at) values ('t', 'c', 'm', 1) returning id::text`,
      ),
    );
    assert.is(inserted.id, sourceNext.id, 'the restored sequence stands where the source did');
    assert.is(inserted.id, '3');
    try {
      await fresh.db.execute(sql`update audit_log set outcome = 'x' where seq = 1`);
      assert.unreachable('audit_log update was allowed');
    } catch (error) {
      assert.match(String((error as Error).message), /append-only|Failed query/);
    }
    const [count] = rowsOf<{ n: number }>(
      await fresh.db.execute(sql`select count(*)::int as n from audit_log`),
    );
    assert.is(count.n, 4);
  });

  test('verify restores into a scratch database, proves it identical, records verifiedAt', async () => {
    const backup = await createBackup(source.db, { dir, key });
    const verified = await verifyBackup(backup.file, key, { db: source.db, now: () => 1234 });
    assert.is(verified.runId, backup.id);
    assert.is(verified.rows, backup.rows);
    assert.is(verified.sha256, backup.sha256);
    assert.ok(verified.recorded);
    assert.equal(
      verified.tables.map((t) => [t.name, t.rows, t.digest]),
      backup.tables.map((t) => [t.name, t.rows, t.digest]),
    );
    const last = await lastVerifiedBackup(source.db);
    assert.is(last?.id, backup.id);
    assert.is(last?.verifiedAt, 1234);
  });

  if (target.name === 'postgres') {
    test('verify into a scratch PostgreSQL database, dropped afterwards', async () => {
      const adminUrl = process.env.TEST_DATABASE_URL!;
      const backup = await createBackup(source.db, { dir, key });
      const verified = await verifyBackup(backup.file, key, { scratchPostgresUrl: adminUrl });
      assert.match(verified.scratch, /^postgres:\/\/.*\/wardgate_verify_/);
      const name = verified.scratch.split('/').at(-1);
      const [left] = rowsOf<{ n: number }>(
        await source.db.execute(
          sql`select count(*)::int as n from pg_database where datname = ${name}`,
        ),
      );
      assert.is(left.n, 0);
    });
  }

  test('restore into a database that holds data is refused and changes nothing', async () => {
    const backup = await createBackup(source.db, { dir, key });
    const target = await open();
    await target.db.execute(
      sql`insert into gateways (id, public_key, password_hash, created_at) values ('other', 'k', 'h', 1)`,
    );
    try {
      await restoreBackup(backup.file, key, target.db);
      assert.unreachable('restore into a non-empty database');
    } catch (error) {
      assert.instance(error, RestoreRefusedError);
      assert.match((error as Error).message, 'already holds data (table gateways has rows)');
    }
    const [count] = rowsOf<{ n: number }>(
      await target.db.execute(sql`select (select count(*) from readings)::int as n`),
    );
    assert.is(count.n, 0);
  });

  test('restore into a database at another schema level is refused', async () => {
    const backup = await createBackup(source.db, { dir, key });
    const target = await open();
    await target.db.execute(
      sql`insert into drizzle.__drizzle_migrations (hash, created_at) values ('future', 9999999999999)`,
    );
    try {
      await restoreBackup(backup.file, key, target.db);
      assert.unreachable('restore across schema levels');
    } catch (error) {
      assert.instance(error, RestoreRefusedError);
      assert.match(
        (error as Error).message,
        `the backup is at schema level ${describeSchemaLevel(codeSchemaLevel())}; the target database is at ${codeSchemaLevel().migrations + 1} migrations`,
      );
    }
  });

  test.run();
}

function readdirName(names: string[]): string {
  const ours = names.filter((n) => n.endsWith('.wgbak'));
  assert.is(ours.length, 1, 'one backup file, no partial left');
  assert.is(names.length, 1);
  return ours[0];
}
