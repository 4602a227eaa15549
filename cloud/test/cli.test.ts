import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { downTopic, GatewayConfigDown, generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { asc, isNull } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDatabase } from '../src/db/database.ts';
import { bedAssignments } from '../src/db/schema.ts';
import { searchStored } from '../src/fhir/search/execute.ts';
import { mrnOf, nameOf } from '../src/patients/patient-record.ts';
import { connectGateway } from './support/gateway-client.ts';

const BIN = fileURLToPath(new URL('../bin/wardgate-cloud.mjs', import.meta.url));
/** PGlite in the temp folder: no DATABASE_URL leaking in from the environment. */
const { DATABASE_URL: _ignored, ...ENV } = process.env;

let dataDir = '';
let server: ChildProcess | undefined;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[]): {
  child: ChildProcess;
  output: { stdout: string; stderr: string };
} {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.on('data', (chunk: Buffer) => {
    output.stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output.stderr += chunk.toString();
  });
  return { child, output };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });

async function run(...args: string[]): Promise<Run> {
  const { child, output } = start(args);
  const code = await exited(child);
  return { code, ...output };
}

const withDir = (...args: string[]) => [...args, '--data-dir', dataDir];

test.before(async () => {
  await initCrypto();
  dataDir = await mkdtemp(join(tmpdir(), 'wardgate-cloud-cli-'));
});

test.after(async () => {
  if (server && server.exitCode === null) {
    server.kill('SIGKILL');
    await exited(server);
  }
  await rm(dataDir, { recursive: true, force: true });
});

test('--help prints the usage; an unknown option is a usage error with exit code 2', async () => {
  const help = await run('--help');
  assert.is(help.code, 0);
  assert.match(help.stdout, 'Usage: wardgate-cloud');
  assert.match(help.stdout, 'seed-demo --gateway ID --beds N');

  const bad = await run('gateways', 'list', '--colour', 'red');
  assert.is(bad.code, 2);
  assert.match(bad.stderr, "error: Unknown option '--colour'");
  assert.match(bad.stderr, 'Usage: wardgate-cloud');

  const unknown = await run('launch');
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, 'unknown command "launch"');

  for (const [interval, reason] of [
    ['0', 'whole number of seconds from 1'],
    ['MDC_NONSENSE=60', 'unknown parameter "MDC_NONSENSE"'],
  ]) {
    const refused = await run('serve', '--http-port', '0', '--chart-interval', interval);
    assert.is(refused.code, 2, interval);
    assert.match(refused.stderr, reason);
  }
});

const keys = { publicKey: '' };

test('gateways add / list, and one clear error line for a bad key or a duplicate id', async () => {
  keys.publicKey = generateSigningKeyPair().publicKey;
  const added = await run(
    ...withDir(
      'gateways',
      'add',
      '--id',
      'ward-7',
      '--public-key',
      keys.publicKey,
      '--password',
      'pw-7',
    ),
  );
  assert.is(added.code, 0, added.stderr);
  assert.match(added.stdout, 'gateway ward-7 added');

  const duplicate = await run(
    ...withDir(
      'gateways',
      'add',
      '--id',
      'ward-7',
      '--public-key',
      keys.publicKey,
      '--password',
      'x',
    ),
  );
  assert.is(duplicate.code, 1);
  assert.is(duplicate.stderr.trim(), 'error: gateway ward-7 already exists');

  const badKey = await run(
    ...withDir('gateways', 'add', '--id', 'ward-8', '--public-key', 'c2hvcnQ=', '--password', 'x'),
  );
  assert.is(badKey.code, 1);
  assert.match(badKey.stderr, 'public key must be base64 of 32 bytes');

  const missing = await run(...withDir('gateways', 'add', '--id', 'ward-9'));
  assert.is(missing.code, 2);
  assert.match(missing.stderr, '--public-key is required');

  const list = await run(...withDir('gateways', 'list'));
  assert.is(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.is(lines.length, 1);
  assert.match(lines[0], /^ward-7\tactive\t/);
  assert.match(lines[0], keys.publicKey);
});

test('seed-demo creates patients and bed assignments once, and changes nothing the second time', async () => {
  const first = await run(...withDir('seed-demo', '--gateway', 'ward-7', '--beds', '3'));
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, '3 patient(s) created, 3 bed(s) assigned on ward-7');
  const second = await run(...withDir('seed-demo', '--gateway', 'ward-7', '--beds', '3'));
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stdout, '0 patient(s) created, 0 bed(s) assigned');

  const database = await openDatabase({ dataDir });
  try {
    const stored = await searchStored(database.db, 'Patient', [['_sort', '_id']]);
    const people = stored.matches.map((p) => ({
      id: p.id,
      mrn: mrnOf(p),
      ...nameOf(p),
      birthDate: p.birthDate as string,
      gender: p.gender as string,
    }));
    assert.equal(
      people.map((p) => [p.id, p.mrn]),
      [
        ['demo-0001', 'DEMO-0001'],
        ['demo-0002', 'DEMO-0002'],
        ['demo-0003', 'DEMO-0003'],
      ],
    );
    assert.is(new Set(people.map((p) => `${p.given} ${p.family}`)).size, 3, 'distinct names');
    assert.ok(
      people.every(
        (p) => /^\d{4}-\d{2}-\d{2}$/.test(p.birthDate) && ['female', 'male'].includes(p.gender),
      ),
    );
    const beds = await database.db
      .select()
      .from(bedAssignments)
      .where(isNull(bedAssignments.toTime))
      .orderBy(asc(bedAssignments.bedId));
    assert.equal(
      beds.map((b) => [b.gatewayId, b.bedId, b.patientId]),
      [
        ['ward-7', 'bed-1', 'demo-0001'],
        ['ward-7', 'bed-2', 'demo-0002'],
        ['ward-7', 'bed-3', 'demo-0003'],
      ],
    );
    assert.is(
      (await database.db.select().from(bedAssignments)).length,
      3,
      'no extra assignment rows',
    );
  } finally {
    await database.close();
  }
});

test('serve on ports 0 prints its real ports, answers /health and MQTT, and stops on SIGTERM', async () => {
  const { child, output } = start(withDir('serve', '--http-port', '0', '--mqtt-port', '0'));
  server = child;
  const urls = await waitFor(
    () => {
      const http = /^http (http:\/\/127\.0\.0\.1:(\d+))/m.exec(output.stdout);
      const mqtt = /^mqtt (mqtt:\/\/127\.0\.0\.1:(\d+))/m.exec(output.stdout);
      return http && mqtt && { http: http[1], mqtt: mqtt[1], httpPort: Number(http[2]) };
    },
    { timeoutMs: 30_000, what: `serve to print its URLs (stderr: ${output.stderr})` },
  );
  assert.ok(urls.httpPort > 0);

  const response = await fetch(`${urls.http}/health`);
  assert.is(response.status, 200);
  const health = (await response.json()) as {
    status: string;
    database: string;
    gateways: { id: string; revoked: boolean }[];
    ingest: { envelopes: number };
  };
  assert.is(health.status, 'ok');
  assert.match(health.database, /^pglite:/);
  assert.equal(
    health.gateways.map((g) => [g.id, g.revoked]),
    [['ward-7', false]],
  );
  assert.is(health.ingest.envelopes, 0);
  const metadata = await fetch(`${urls.http}/fhir/R4/metadata`);
  assert.is(metadata.status, 200, 'FHIR is mounted at /fhir/R4');
  assert.is(
    ((await metadata.json()) as { resourceType: string }).resourceType,
    'CapabilityStatement',
  );

  // The seeded beds reach the gateway as its retained config.
  const gateway = await connectGateway(urls.mqtt, 'ward-7', 'pw-7');
  try {
    await gateway.client.subscribeAsync(downTopic('ward-7', 'config'), { qos: 1 });
    const config = await waitFor(
      () => gateway.received<unknown>(downTopic('ward-7', 'config'))[0],
      {
        what: 'retained config',
      },
    );
    assert.equal(
      GatewayConfigDown.parse(config).beds.map((b) => b.bedId),
      ['bed-1', 'bed-2', 'bed-3'],
    );
  } finally {
    await gateway.client.endAsync();
  }

  child.kill('SIGTERM');
  assert.is(await exited(child), 0, output.stderr);
  assert.match(output.stdout, 'stopped');
});

test('gateways revoke marks the gateway revoked', async () => {
  const revoked = await run(...withDir('gateways', 'revoke', '--id', 'ward-7'));
  assert.is(revoked.code, 0, revoked.stderr);
  assert.match(revoked.stdout, 'gateway ward-7 revoked at');
  const list = await run(...withDir('gateways', 'list'));
  assert.match(list.stdout, /^ward-7\trevoked \d{4}-/m);
  const unknown = await run(...withDir('gateways', 'revoke', '--id', 'nope'));
  assert.is(unknown.code, 1);
  assert.is(unknown.stderr.trim(), 'error: unknown gateway nope');
});

test.run();
