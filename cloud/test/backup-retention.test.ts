import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  applyRetention,
  backupTimeOf,
  listBackupFiles,
  pruneBackups,
} from '../src/backup/index.ts';
import type { Database } from '../src/db/database.ts';
import { backupRuns } from '../src/db/schema.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-03-20T02:00:00.000Z');
let dir = '';

const nameAt = (at: number) =>
  `wardgate-backup-${new Date(at).toISOString().replace(/:/g, '-').replace(/Z$/, 'Z.wgbak')}`;

/** Backups taken at 02:00 on each of the last `days` days (newest: today), plus strangers. */
async function fill(days: number): Promise<string[]> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  const names = Array.from({ length: days }, (_, i) => nameAt(NOW - i * DAY));
  for (const name of names) await writeFile(join(dir, name), 'x');
  // Not ours: never touched, however old.
  await writeFile(join(dir, 'notes.txt'), 'keep');
  await writeFile(join(dir, 'wardgate-backup-old-copy.wgbak'), 'keep');
  await writeFile(join(dir, 'wardgate-backup-2020-01-01T00-00-00.000Z.wgbak.bak'), 'keep');
  await mkdir(join(dir, nameAt(NOW - 400 * DAY))); // a folder with our name pattern
  return names;
}

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wardgate-backup-retention-'));
});
test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('file names carry the UTC time and sort in time order', () => {
  assert.is(backupTimeOf(nameAt(NOW)), NOW);
  assert.is(backupTimeOf('wardgate-backup-old-copy.wgbak'), null);
  assert.is(backupTimeOf(`/some/dir/${nameAt(NOW)}`), NOW);
});

test('default: the newest 14 are kept, older ones deleted, strangers untouched', async () => {
  const names = await fill(20);
  const result = await applyRetention(dir, {}, { now: NOW });
  assert.equal(result.kept, names.slice(0, 14));
  assert.equal(result.deleted, names.slice(14));
  const left = await readdir(dir);
  for (const name of names.slice(14)) assert.not.ok(left.includes(name));
  for (const stranger of [
    'notes.txt',
    'wardgate-backup-old-copy.wgbak',
    'wardgate-backup-2020-01-01T00-00-00.000Z.wgbak.bak',
    nameAt(NOW - 400 * DAY),
  ]) {
    assert.ok(left.includes(stranger), stranger);
  }
});

test('keepLast N', async () => {
  const names = await fill(6);
  const result = await applyRetention(dir, { keepLast: 2 }, { now: NOW });
  assert.equal(result.kept, names.slice(0, 2));
  assert.equal(
    (await listBackupFiles(dir)).map((f) => f.name),
    names.slice(0, 2),
  );
});

test('maxAgeDays alone keeps what is younger, whatever the count', async () => {
  const names = await fill(10);
  const result = await applyRetention(dir, { maxAgeDays: 3.5 }, { now: NOW });
  assert.equal(result.kept, names.slice(0, 4));
  assert.equal(result.deleted, names.slice(4));
});

test('both rules: a backup either rule keeps is kept', async () => {
  const names = await fill(10);
  assert.equal(
    (await applyRetention(dir, { keepLast: 5, maxAgeDays: 2.5 }, { now: NOW })).kept,
    names.slice(0, 5),
  );
  await fill(10);
  assert.equal(
    (await applyRetention(dir, { keepLast: 1, maxAgeDays: 2.5 }, { now: NOW })).kept,
    names.slice(0, 3),
  );
});

test('a protected name survives; bad policies are refused', async () => {
  const names = await fill(5);
  const result = await applyRetention(
    dir,
    { keepLast: 1 },
    { now: NOW, protect: [join('/elsewhere', names[3])] },
  );
  assert.equal(result.kept, [names[0], names[3]]);
  for (const policy of [{ keepLast: 0 }, { keepLast: 1.5 }, { maxAgeDays: -1 }]) {
    try {
      await applyRetention(dir, policy, { now: NOW });
      assert.unreachable(JSON.stringify(policy));
    } catch (error) {
      assert.match((error as Error).message, /retention/);
    }
  }
});

test('a .partial left by a run that died a day ago goes; a fresh one stays', async () => {
  await fill(1);
  const stale = join(dir, `.${nameAt(NOW - 2 * DAY)}.partial`);
  const fresh = join(dir, `.${nameAt(NOW)}.partial`);
  await writeFile(stale, 'x');
  await writeFile(fresh, 'x');
  await utimes(stale, new Date(NOW - 2 * DAY), new Date(NOW - 2 * DAY));
  await utimes(fresh, new Date(NOW - 60_000), new Date(NOW - 60_000));
  const result = await applyRetention(dir, {}, { now: NOW });
  assert.ok(result.deleted.includes(`.${nameAt(NOW - 2 * DAY)}.partial`));
  const left = await readdir(dir);
  assert.ok(left.includes(`.${nameAt(NOW)}.partial`));
});

test('a missing folder has no backups', async () => {
  assert.equal(await listBackupFiles(join(dir, 'nope')), []);
});

for (const target of testDatabaseTargets()) {
  test(`pruneBackups never deletes the newest verified backup (${target.name})`, async () => {
    const names = await fill(8);
    const database: Database = await target.open();
    try {
      const run = (name: string, verifiedAt: number | null, i: number) => ({
        id: `run-${i}`,
        file: join(dir, name),
        startedAt: backupTimeOf(name)!,
        finishedAt: backupTimeOf(name)! + 1000,
        bytes: 1,
        sha256: 'x',
        rows: 1,
        verifiedAt,
      });
      // The five newest failed verification; the sixth and the eighth were verified.
      await database.db
        .insert(backupRuns)
        .values([
          ...names.slice(0, 5).map((name, i) => run(name, null, i)),
          run(names[5], NOW - 5 * DAY, 5),
          run(names[6], null, 6),
          run(names[7], NOW - 7 * DAY, 7),
        ]);
      const result = await pruneBackups(database.db, dir, { keepLast: 2 }, { now: NOW });
      assert.equal(result.kept, [names[0], names[1], names[5]]);
      assert.equal(result.deleted, [names[2], names[3], names[4], names[6], names[7]]);
    } finally {
      await database.close();
    }
  });
}

test.run();
