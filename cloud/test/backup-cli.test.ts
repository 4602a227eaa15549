import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { codeSchemaLevel } from '../src/backup/catalog.ts';
import { applicationTables } from '../src/backup/index.ts';
import { keyFileBeside } from '../src/crypto/key-file.ts';
import { openDatabase } from '../src/db/database.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { seedBackupData, snapshotOf } from './support/backup-fixtures.ts';

const BIN = fileURLToPath(new URL('../bin/wardgate-cloud.mjs', import.meta.url));
/** PGlite data folders: no DATABASE_URL or key file leaking in from the environment. */
const { DATABASE_URL: _url, WARDGATE_KEY_FILE: _keys, ...ENV } = process.env;

let root = '';
let keyFile = '';
let sourceDir = '';
let backupDir = '';

async function run(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out, err };
}

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'wardgate-backup-cli-'));
  keyFile = join(root, 'backup.key');
  sourceDir = join(root, 'source');
  backupDir = join(root, 'backups');
  const source = await openDatabase({ dataDir: sourceDir });
  try {
    await seedBackupData(source.db, { readings: 1200 });
  } finally {
    await source.close();
  }
});
test.after(async () => {
  await rm(root, { recursive: true, force: true });
});

test('backup keygen writes a 0600 key and never overwrites one', async () => {
  const made = await run('backup', 'keygen', '--out', keyFile);
  assert.is(made.code, 0, made.err);
  assert.is((await stat(keyFile)).mode & 0o777, 0o600);
  const again = await run('backup', 'keygen', '--out', keyFile);
  assert.is(again.code, 1);
  assert.match(again.err, 'never overwritten');
});

test('usage errors exit 2', async () => {
  assert.is((await run('backup')).code, 2);
  const noDir = await run('backup', 'run', '--backup-key-file', keyFile);
  assert.is(noDir.code, 2);
  assert.match(noDir.err, '--dir is required');
  const serve = await run('serve', '--backup-dir', backupDir, '--data-dir', join(root, 'x'));
  assert.is(serve.code, 2);
  assert.match(serve.err, '--backup-dir needs --backup-key-file');
});

test('backup run --verify, list, verify; a wrong or exposed key is refused', async () => {
  const made = await run(
    'backup',
    'run',
    '--dir',
    backupDir,
    '--backup-key-file',
    keyFile,
    '--data-dir',
    sourceDir,
    '--verify',
  );
  assert.is(made.code, 0, made.err);
  assert.match(made.out, /^backup .*wardgate-backup-.*\.wgbak: \d+ rows in \d+ tables/);
  assert.match(made.out, 'verified identical by a restore into pglite:memory');
  const [name] = await readdir(backupDir);

  const listed = await run('backup', 'list', '--dir', backupDir);
  assert.is(listed.code, 0, listed.err);
  assert.match(listed.out, `${name}\t`);
  assert.match(listed.out, `schema ${codeSchemaLevel().lastTag}`);

  const verified = await run(
    'backup',
    'verify',
    join(backupDir, name),
    '--backup-key-file',
    keyFile,
  );
  assert.is(verified.code, 0, verified.err);
  assert.match(verified.out, `${name}: restore identical`);

  const otherKey = join(root, 'other.key');
  assert.is((await run('backup', 'keygen', '--out', otherKey)).code, 0);
  const wrong = await run('backup', 'verify', join(backupDir, name), '--backup-key-file', otherKey);
  assert.is(wrong.code, 1);
  assert.match(wrong.err, 'was made with another key');

  await chmod(otherKey, 0o644);
  const exposed = await run(
    'backup',
    'verify',
    join(backupDir, name),
    '--backup-key-file',
    otherKey,
  );
  assert.is(exposed.code, 1);
  assert.match(exposed.err, 'is accessible by others (mode 644)');
});

test('backup restore into a new data folder: identical, readable with the PHI keys; a second restore is refused', async () => {
  const [name] = await readdir(backupDir);
  const file = join(backupDir, name);
  const targetDir = join(root, 'restored');
  const restored = await run(
    'backup',
    'restore',
    file,
    '--backup-key-file',
    keyFile,
    '--data-dir',
    targetDir,
    '--key-file',
    keyFileBeside(sourceDir),
  );
  assert.is(restored.code, 0, restored.err);
  assert.match(restored.out, /restored .* into pglite:.*restored: \d+ rows/);
  assert.match(restored.out, 'opens the restored records', restored.out);
  assert.is((await stat(keyFileBeside(targetDir))).mode & 0o777, 0o600);

  const again = await run(
    'backup',
    'restore',
    file,
    '--backup-key-file',
    keyFile,
    '--data-dir',
    targetDir,
  );
  assert.is(again.code, 1);
  assert.match(again.err, 'already holds data');

  const source = await openDatabase({ dataDir: sourceDir });
  const target = await openDatabase({ dataDir: targetDir });
  try {
    const tables = (await applicationTables(source.db)).map((t) => t.name);
    const before = await snapshotOf(source.db, tables);
    const after = await snapshotOf(target.db, tables);
    for (const table of Object.keys(before)) {
      // The source's backup_runs row was written after its snapshot was taken.
      if (table === 'backup_runs') continue;
      assert.equal(after[table], before[table], table);
    }
    // The key file copied beside the restored folder opens the sealed records.
    const patient = await new ResourceStore(target.db).read('Patient', 'p-1');
    const resource = patient?.resource as { name: { family: string }[] } | undefined;
    assert.is(resource?.name[0].family, 'Family1');
  } finally {
    await source.close();
    await target.close();
  }
});

test('serve --backup-dir starts the schedule; a bad cron expression is refused', async () => {
  const dataDir = join(root, 'serve');
  const common = ['--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0'];
  const backups = ['--backup-dir', join(root, 'serve-backups'), '--backup-key-file', keyFile];
  const bad = await run('serve', ...common, ...backups, '--backup-schedule', 'nightly');
  assert.is(bad.code, 1);
  assert.match(bad.err, '"nightly" is not a cron expression');

  const child = spawn(process.execPath, [BIN, 'serve', ...common, ...backups], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const healthUrl = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /\(health (\S+?),[\s\S]*\nmqtt /.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', () => reject(new Error(`serve exited: ${out}`)));
  });
  // Answered only once serve has run past its start (and listens for SIGTERM).
  assert.is((await fetch(healthUrl)).status, 200);
  child.kill('SIGTERM');
  const code = await exited;
  assert.is(code, 0, `${child.signalCode} ${out}`);
  assert.match(out, 'stopped');
});

test.run();
