// Telehealth on the command line: `providers set/list` run as a real process on a PGlite folder
// (then the same database opened here shows the Practitioner, Schedule and audit record), and
// serve's telehealth flags turned into options, wrong ones refused with a clear message.
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
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { isNpi, NPI_SYSTEM } from '../src/telehealth/appointments/npi.ts';
import { findProvider } from '../src/telehealth/appointments/providers.ts';
import { telehealthServeOptions } from '../src/telehealth/serve-options.ts';

const BIN = fileURLToPath(new URL('../bin/wardgate-cloud.mjs', import.meta.url));
const { DATABASE_URL: _ignored, WARDGATE_KEY_FILE: _alsoIgnored, ...ENV } = process.env;

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: ENV, stdio: 'pipe' });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, ...output })));
}

test('providers set makes a doctor a provider with hours and NPI; list shows them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wardgate-providers-cli-'));
  const cli = (...args: string[]) => run([...args, '--data-dir', join(dir, 'data')]);
  try {
    const added = await cli('users', 'add', '--username', 'dr.visser', '--role', 'doctor');
    assert.is(added.code, 0, added.stderr);
    const set = await cli(
      'providers',
      'set',
      '--username',
      'dr.visser',
      '--time-zone',
      'Europe/Amsterdam',
      '--hours',
      'mon-fri=09:00-12:30,13:30-17:00',
      '--hours',
      'sat=10:00-12:00',
      '--family',
      'Visser',
      '--npi',
      '1234567893',
    );
    assert.is(set.code, 0, set.stderr);
    assert.match(
      set.stdout,
      /dr\.visser: provider \S+ \(Practitioner\), schedule \S+, Europe\/Amsterdam, 30-minute slots/,
    );

    const wrong = [
      [['--npi', '1234567890'], 'npi: a valid 10-digit NPI'],
      [['--hours', 'fri-mon=09:00-17:00'], 'days are mon..sun, first to last'],
      [['--hours', 'mon=9-17'], 'a time as HH:MM'],
      [['--time-zone', 'Mars/Base'], 'an IANA time zone'],
    ] as const;
    for (const [change, message] of wrong) {
      const base: Record<string, string> = {
        '--username': 'dr.visser',
        '--time-zone': 'Europe/Amsterdam',
        '--hours': 'mon=09:00-17:00',
      };
      base[change[0]] = change[1];
      const refused = await cli('providers', 'set', ...Object.entries(base).flat());
      assert.is(refused.code, 2, `${change.join(' ')}: ${refused.stderr}`);
      assert.match(refused.stderr, message);
    }
    const unknown = await cli(
      'providers',
      'set',
      '--username',
      'nobody',
      '--time-zone',
      'UTC',
      '--hours',
      'mon=09:00-17:00',
    );
    assert.is(unknown.code, 1);
    assert.match(unknown.stderr, 'no user nobody');

    const listed = await cli('providers', 'list');
    assert.is(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /Europe\/Amsterdam\t30 min\t\{.*"sat":\[\["10:00","12:00"\]\]/);

    const database = await openDatabase({ dataDir: join(dir, 'data') });
    try {
      const db = database.db;
      const [userId] = listed.stdout.split('\t');
      const provider = await findProvider(db, userId);
      assert.ok(provider);
      assert.equal(provider.workingHours.mon, [
        ['09:00', '12:30'],
        ['13:30', '17:00'],
      ]);
      const store = new ResourceStore(db);
      const practitioner = (await store.read('Practitioner', provider.practitionerId))?.resource;
      assert.equal(practitioner?.identifier, [{ system: NPI_SYSTEM, value: '1234567893' }]);
      assert.ok((await store.read('Schedule', provider.scheduleId))?.resource);
      const audited = await db.select().from(auditLog).where(eq(auditLog.actorRole, 'system'));
      assert.ok(
        audited.some(
          (row) =>
            (row.event as { outcomeDesc?: string }).outcomeDesc ===
            'success: telehealth provider registered',
        ),
        JSON.stringify(audited.map((r) => [r.action, r.actorRole])),
      );
    } finally {
      await database.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('isNpi: the CMS check digit', () => {
  assert.ok(isNpi('1234567893'));
  assert.not.ok(isNpi('1234567890'));
  assert.not.ok(isNpi('123456789'));
  assert.not.ok(isNpi('12345678931'));
});

const usage = (message: string) => new Error(message);

test('serve flags: SMTP, SMS, pharmacy and ICE servers become telehealth options', () => {
  const options = telehealthServeOptions(
    {
      'smtp-url': 'smtp://relay.example.org:587',
      'mail-from': 'visits@example.org',
      'sms-url': 'https://sms.example.org/messages',
      'sms-from': 'wardgate',
      'pharmacy-url': 'http://127.0.0.1:4797/script',
      'pharmacy-ncpdp-id': '7654321',
      'ice-server': ['stun:stun.example.org:3478', 'turn:turn.example.org:3478'],
    },
    { SMS_API_KEY: 'k-123', TURN_USERNAME: 'visit', TURN_CREDENTIAL: 's3cret' },
    usage,
  );
  assert.equal(options, {
    reminders: {
      smtp: { url: 'smtp://relay.example.org:587', from: 'visits@example.org' },
      sms: { url: 'https://sms.example.org/messages', apiKey: 'k-123', from: 'wardgate' },
    },
    pharmacy: { url: 'http://127.0.0.1:4797/script', ncpdpId: '7654321' },
    video: {
      iceServers: [
        { urls: 'stun:stun.example.org:3478' },
        { urls: 'turn:turn.example.org:3478', username: 'visit', credential: 's3cret' },
      ],
    },
  });
  // The environment works the same way, for systemd units.
  const fromEnv = telehealthServeOptions(
    {},
    { SMTP_URL: 'smtps://relay:465', MAIL_FROM: 'a@b.org', ICE_SERVERS: 'stun:a:1, stun:b:2' },
    usage,
  );
  assert.equal(fromEnv.reminders?.smtp, { url: 'smtps://relay:465', from: 'a@b.org' });
  assert.equal(fromEnv.video?.iceServers, [{ urls: 'stun:a:1' }, { urls: 'stun:b:2' }]);
});

test('serve flags: wrong telehealth settings are refused with what is wrong', () => {
  const cases: [Record<string, unknown>, NodeJS.ProcessEnv, string][] = [
    [{ 'smtp-url': 'smtp://relay:25' }, {}, '--smtp-url and --mail-from'],
    [{ 'smtp-url': 'http://relay', 'mail-from': 'a@b.org' }, {}, 'must be a smtp: or smtps: URL'],
    [{ 'sms-url': 'https://sms', 'sms-from': 'w' }, {}, 'need SMS_API_KEY'],
    [{ 'pharmacy-url': 'not a url' }, {}, 'is not a URL'],
    [{ 'pharmacy-ncpdp-id': '12' }, {}, 'is not a 7-digit NCPDP id'],
    [{ 'ice-server': ['http://stun'] }, {}, 'is not a stun:, stuns:, turn: or turns: URL'],
    [{ 'ice-server': ['turn:t:3478'] }, {}, 'needs TURN_USERNAME and TURN_CREDENTIAL'],
  ];
  for (const [values, env, message] of cases)
    assert.throws(() => telehealthServeOptions(values, env, usage), message);
});

test.run();
