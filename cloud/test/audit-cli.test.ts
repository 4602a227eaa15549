import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAuditLog } from '../src/audit/chain-writer.ts';
import { type Database, openDatabase } from '../src/db/database.ts';
import { readEntry, tamper, user } from './support/audit-entries.ts';

const BIN = fileURLToPath(new URL('../bin/wardgate-cloud.mjs', import.meta.url));
/** PGlite in the temp folder: no DATABASE_URL leaking in from the environment. */
const { DATABASE_URL: _ignored, ...ENV } = process.env;

let folder = '';
let dataDir = '';
let headFile = '';

function run(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** The data folder opened in this process while no CLI runs (PGlite allows one process). */
async function withData(work: (database: Database) => Promise<void>) {
  const database = await openDatabase({ dataDir });
  try {
    await work(database);
  } finally {
    await database.close();
  }
}

test.before(async () => {
  folder = await mkdtemp(join(tmpdir(), 'wardgate-audit-cli-'));
  dataDir = join(folder, 'data');
  headFile = join(folder, 'audit-head');
  await withData(async ({ db }) => {
    const log = createAuditLog(db);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => log.append(readEntry(user('u-doc', 'doctor'), `p${i}`))),
    );
  });
});

test.after(async () => {
  await rm(folder, { recursive: true, force: true });
});

test('audit verify: exit 0 with the head; --head-file keeps the head for the next run', async () => {
  const ok = await run('audit', 'verify', '--data-dir', dataDir, '--head-file', headFile);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /audit chain verified: 30 record\(s\), head seq 30 hash [0-9a-f]{64}/);
  const saved = (await readFile(headFile, 'utf8')).trim();
  assert.match(saved, /^30:[0-9a-f]{64}$/);
  assert.ok(ok.stdout.includes(saved.split(':')[1]));

  const again = await run('audit', 'verify', '--data-dir', dataDir, '--expect-head', saved);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, 'it still reaches seq 30 as verified before');

  const incremental = await run(
    'audit',
    'verify',
    '--data-dir',
    dataDir,
    '--head-file',
    headFile,
    '--incremental',
  );
  assert.is(incremental.code, 0, incremental.stderr);
  assert.match(incremental.stdout, 'audit chain verified: 0 record(s) after seq 30, head seq 30');
});

test('audit verify: an edited row → exit 1 with its seq and the kind of problem', async () => {
  await withData(({ db }) =>
    tamper(db, sql`update audit_log set patient_ids = '{p-other}' where seq = 12`),
  );
  const broken = await run('audit', 'verify', '--data-dir', dataDir);
  assert.is(broken.code, 1, broken.stderr);
  assert.match(broken.stdout, 'audit chain BROKEN at seq 12 (hash-mismatch)');
  assert.match(broken.stdout, '11 record(s) before it verified');
});

test('audit verify --head-file: rows deleted from the end → exit 1, a gap where they were', async () => {
  // Row 12 put back as it was (seq 12 is the twelfth entry, patient p11); the last three cut.
  await withData(async ({ db }) => {
    await tamper(db, sql`update audit_log set patient_ids = '{p11}' where seq = 12`);
    await tamper(db, sql`delete from audit_log where seq > 27`);
  });
  const cut = await run('audit', 'verify', '--data-dir', dataDir, '--head-file', headFile);
  assert.is(cut.code, 1, cut.stderr);
  assert.match(cut.stdout, 'audit chain BROKEN at seq 28 (gap)');
  assert.match(cut.stdout, 'rows 28 to 30 were deleted');
  // The head file is only moved on by a clean verification.
  assert.match(await readFile(headFile, 'utf8'), /^30:/);
});

test('audit verify: a malformed head or an unknown option is a usage error (exit 2)', async () => {
  const bad = await run('audit', 'verify', '--data-dir', dataDir, '--expect-head', '30:abc');
  assert.is(bad.code, 2);
  assert.match(bad.stderr, '--expect-head must be SEQ:HASH');
  const unknown = await run('audit', 'check');
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, 'unknown audit command "check"');
  const help = await run('--help');
  assert.match(help.stdout, 'audit verify [--data-dir D]');
});

test.run();
