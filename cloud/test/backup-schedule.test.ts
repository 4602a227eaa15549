import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  BackupError,
  type BackupScheduleOptions,
  describeError,
  lastVerifiedBackup,
  startBackupSchedule,
} from '../src/backup/index.ts';
import type { BackupScheduler } from '../src/backup/schedule.ts';
import { backupRuns } from '../src/db/schema.ts';
import { startCloud } from '../src/server.ts';
import { backupKey, seedBackupData } from './support/backup-fixtures.ts';
import { testDatabaseTargets } from './support/test-database.ts';

let root = '';
let n = 0;
const newDir = () => join(root, `dir-${n++}`);

/** A scheduler that records what was registered, to fire it by hand: no clock involved. */
function manualScheduler() {
  const registered: { expression?: string; timezone?: string; fire?: () => Promise<void> } = {};
  let stopped = false;
  const scheduler: BackupScheduler = (expression, run, timezone) => {
    Object.assign(registered, { expression, timezone, fire: run });
    return {
      stop: () => {
        stopped = true;
      },
      nextRun: () => null,
    };
  };
  return { scheduler, registered, stopped: () => stopped };
}

const oldName = (daysAgo: number) =>
  `wardgate-backup-${new Date(Date.now() - daysAgo * 86_400_000).toISOString().replace(/:/g, '-').replace(/Z$/, 'Z.wgbak')}`;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'wardgate-backup-schedule-'));
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

for (const target of testDatabaseTargets()) {
  test(`a cron run backs up, verifies and applies retention (${target.name})`, async () => {
    const database = await target.open();
    const dir = newDir();
    const logs: string[] = [];
    try {
      await seedBackupData(database.db);
      const manual = manualScheduler();
      const options: BackupScheduleOptions = {
        dir,
        key: backupKey(),
        cron: '30 3 * * *',
        timezone: 'UTC',
        retention: { keepLast: 2 },
        log: (message) => logs.push(message),
        scheduler: manual.scheduler,
      };
      const schedule = startBackupSchedule(database.db, options);
      assert.is(manual.registered.expression, '30 3 * * *');
      assert.is(manual.registered.timezone, 'UTC');
      // Three older backups: with the new one, the oldest two go.
      await mkdir(dir, { recursive: true });
      const older = [1, 2, 3].map(oldName);
      for (const name of older) await writeFile(join(dir, name), 'old');

      await manual.registered.fire!();
      const files = (await readdir(dir)).sort();
      assert.is(files.length, 2);
      assert.ok(files.includes(older[0]));
      const [run] = await database.db.select().from(backupRuns);
      assert.ok(files.includes(run.file.split('/').at(-1)!));
      assert.ok(run.verifiedAt, `not verified: ${logs.join(' / ')}`);
      assert.is((await lastVerifiedBackup(database.db))?.id, run.id);
      assert.match(
        logs.join('\n'),
        /written .* verified identical .* retention deleted 2 old file/s,
      );

      await schedule.stop();
      assert.ok(manual.stopped());
      assert.equal(await schedule.runNow(), { skipped: true, errors: [] });
    } finally {
      await database.close();
    }
  });
}

test('overlapping runs: the second is skipped while the first is going', async () => {
  const [target] = testDatabaseTargets();
  const database = await target.open();
  const logs: string[] = [];
  try {
    const dir = newDir();
    const schedule = startBackupSchedule(database.db, {
      dir,
      key: backupKey(),
      verify: false,
      log: (message) => logs.push(message),
      scheduler: manualScheduler().scheduler,
    });
    const first = schedule.runNow();
    const second = await schedule.runNow();
    assert.is(second.skipped, true);
    const done = await first;
    assert.is(done.skipped, false);
    assert.ok(done.backup);
    assert.is(done.verify, undefined);
    assert.is((await readdir(dir)).length, 1);
    assert.match(logs.join('\n'), 'still going; this one is skipped');
    await schedule.stop();
  } finally {
    await database.close();
  }
});

test('a failing run is logged without PHI, recorded, and never throws', async () => {
  const [target] = testDatabaseTargets();
  const database = await target.open();
  const logs: string[] = [];
  try {
    await seedBackupData(database.db);
    const notAFolder = join(root, 'plain-file');
    await writeFile(notAFolder, 'x');
    const schedule = startBackupSchedule(database.db, {
      dir: notAFolder,
      key: backupKey(),
      log: (message) => logs.push(message),
      scheduler: manualScheduler().scheduler,
    });
    const result = await schedule.runNow();
    assert.is(result.backup, undefined);
    assert.ok(result.errors.some((e) => e.startsWith('backup failed')));
    const [run] = await database.db.select().from(backupRuns);
    assert.match(run.error ?? '', /EEXIST|ENOTDIR|not a directory|exists/);
    assert.is(run.sha256, null);
    const logged = logs.join('\n');
    assert.match(logged, 'backup failed');
    for (const phi of ["O'Brien", 'Zoë', 'MRN-100', '1950-']) assert.not.match(logged, phi);
    await schedule.stop();
  } finally {
    await database.close();
  }
});

test('database errors lose their quoted values before they reach a log', () => {
  const error = Object.assign(new Error('invalid input syntax for type bigint: "Smith"'), {
    code: '22P02',
  });
  assert.is(
    describeError(error),
    'database error 22P02: invalid input syntax for type bigint: "…"',
  );
  assert.is(describeError(new BackupError('x is truncated')), 'x is truncated');
});

test('node-cron: the expression is checked and the next run computed', async () => {
  const [target] = testDatabaseTargets();
  const database = await target.open();
  try {
    try {
      startBackupSchedule(database.db, { dir: newDir(), key: backupKey(), cron: '61 * * * *' });
      assert.unreachable('a bad cron expression was accepted');
    } catch (error) {
      assert.instance(error, BackupError);
      assert.match((error as Error).message, 'is not a cron expression');
    }
    try {
      startBackupSchedule(database.db, { dir: newDir(), key: new Uint8Array(16) });
      assert.unreachable('a short key was accepted');
    } catch (error) {
      assert.match((error as Error).message, 'a backup key is 32 bytes');
    }
    const schedule = startBackupSchedule(database.db, {
      dir: newDir(),
      key: backupKey(),
      timezone: 'UTC',
    });
    assert.is(schedule.expression, '0 2 * * *');
    const next = schedule.nextRun();
    assert.ok(next);
    assert.is(next!.getUTCHours(), 2);
    assert.is(next!.getUTCMinutes(), 0);
    assert.ok(next!.getTime() > Date.now() && next!.getTime() <= Date.now() + 86_400_000);
    await schedule.stop();
  } finally {
    await database.close();
  }
});

test('startCloud runs the schedule and stops it with the cloud', async () => {
  const [target] = testDatabaseTargets();
  const dir = newDir();
  const cloud = await startCloud({
    database: await target.open(),
    httpPort: 0,
    mqttPort: 0,
    backup: { dir, key: backupKey(), timezone: 'UTC' },
  });
  try {
    assert.ok(cloud.backup);
    const result = await cloud.backup!.runNow();
    assert.equal(result.errors, []);
    assert.ok(result.verify?.recorded);
  } finally {
    await cloud.stop();
  }
  assert.equal(await cloud.backup!.runNow(), { skipped: true, errors: [] });
  assert.is((await readdir(dir)).length, 1);
});

test('startCloud refuses bad backup options before it starts anything', async () => {
  const [target] = testDatabaseTargets();
  const database = await target.open();
  try {
    await startCloud({
      database,
      httpPort: 0,
      mqttPort: 0,
      backup: { dir: newDir(), key: backupKey(), cron: 'every night' },
    });
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, 'is not a cron expression');
  } finally {
    await database.close();
  }
});

test.run();
