// The users and clients commands of wardgate-cloud, run as a real process on a PGlite folder;
// then the same database opened here proves what they did (sign-in, revocation, audit trail).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDatabase } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { authKit } from './support/auth.ts';

const BIN = fileURLToPath(new URL('../bin/wardgate-cloud.mjs', import.meta.url));
const { DATABASE_URL: _ignored, WARDGATE_KEY_FILE: _alsoIgnored, ...ENV } = process.env;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], stdin?: string): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: ENV,
    stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  if (stdin !== undefined) child.stdin?.end(stdin);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, ...output })));
}

test('users and clients commands: add, list, training, disable, clients add/list/revoke', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wardgate-auth-cli-'));
  const dataDir = join(dir, 'data');
  const cli = (args: string[], stdin?: string) => run([...args, '--data-dir', dataDir], stdin);
  try {
    const admin = await cli([
      'users',
      'add',
      '--username',
      'Admin.One',
      '--role',
      'administrator',
      '--training-completed',
      '2026-01-10',
    ]);
    assert.is(admin.code, 0, admin.stderr);
    const generated = /initial password \(shown once\): (\S+)/.exec(admin.stdout)?.[1] ?? '';
    assert.match(generated, /^[A-Za-z0-9_-]{24}$/);

    const nurse = await cli(
      [
        'users',
        'add',
        '--username',
        'nurse.a',
        '--role',
        'nurse',
        '--wards',
        'w1,w2',
        '--password-stdin',
      ],
      'Violin-Candle-8841\n',
    );
    assert.is(nurse.code, 0, nurse.stderr);
    assert.not.ok(nurse.stdout.includes('Violin'), 'a given password is not printed');
    assert.match(nurse.stdout, /no HIPAA training date yet/);

    const weak = await cli(
      ['users', 'add', '--username', 'dr.weak', '--role', 'doctor', '--password-stdin'],
      'short\n',
    );
    assert.is(weak.code, 1);
    assert.match(weak.stderr, /at least 12 characters/);
    const badDate = await cli([
      'users',
      'training',
      '--username',
      'nurse.a',
      '--completed',
      '2026-02-30',
    ]);
    assert.is(badDate.code, 2);
    assert.is(
      (await cli(['users', 'training', '--username', 'nurse.a', '--completed', '2026-02-20'])).code,
      0,
    );
    assert.is((await cli(['users', 'disable', '--username', 'nurse.a'])).code, 0);
    const list = await cli(['users', 'list']);
    assert.is(list.code, 0);
    const lines = list.stdout.trim().split('\n');
    assert.is(lines.length, 2);
    assert.match(lines[0], /^admin\.one\tadministrator\tactive\tmfa off\ttraining 2026-01-10/);
    assert.match(
      lines[1],
      /^nurse\.a\tnurse\tdisabled\tmfa off\ttraining 2026-02-20\t.*wards w1,w2/,
    );
    assert.not.ok(list.stdout.includes('$argon2id'));

    const client = await cli([
      'clients',
      'add',
      '--name',
      'lab',
      '--scopes',
      'system/Observation.read system/Patient.read',
    ]);
    assert.is(client.code, 0, client.stderr);
    const clientId = /client_id\s+(\S+)/.exec(client.stdout)?.[1] ?? '';
    const clientSecret = /client_secret\s+(\S+)/.exec(client.stdout)?.[1] ?? '';
    assert.match(clientSecret, /^[A-Za-z0-9_-]{43}$/);
    const clients = await cli(['clients', 'list']);
    assert.match(
      clients.stdout,
      new RegExp(`^${clientId}\tlab\tactive\tsystem/Observation.read system/Patient.read$`, 'm'),
    );
    assert.not.ok(clients.stdout.includes(clientSecret));
    assert.is((await cli(['clients', 'revoke', '--id', clientId])).code, 0);

    // What the commands did, seen through the API on the same database.
    const database = await openDatabase({ dataDir });
    try {
      const kit = await authKit(database.db, { now: Date.now });
      const login = await kit.call('POST', '/api/auth/login', {
        body: { username: 'admin.one', password: generated },
      });
      assert.is(login.status, 200);
      assert.is(login.body.mfaEnrolmentRequired, true);
      const disabled = await kit.call('POST', '/api/auth/login', {
        body: { username: 'nurse.a', password: 'Violin-Candle-8841' },
      });
      assert.is(disabled.body.error.code, 'account-disabled');
      const token = await kit.call('POST', '/api/auth/token', {
        body: `grant_type=client_credentials&client_id=${clientId}&client_secret=${clientSecret}`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      assert.is(token.body.error, 'invalid_client', 'revoked');

      const recorded = await database.db
        .select()
        .from(auditLog)
        .where(eq(auditLog.actorRole, 'system'));
      assert.equal(
        recorded.map((r) => (r.event as { outcomeDesc?: string }).outcomeDesc),
        [
          'success: created admin.one (administrator)',
          'success: created nurse.a (nurse; wards w1,w2)',
          'success: updated nurse.a: training completed 2026-02-20',
          'success: disabled nurse.a; sessions ended',
          'success: created API client lab: system/Observation.read system/Patient.read',
          'success: revoked API client lab and its tokens',
        ],
      );
      assert.ok(recorded.every((r) => r.actorId?.startsWith('cli:')));
    } finally {
      await database.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
