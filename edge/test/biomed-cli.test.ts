import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReadingInput } from '@wardgate/shared';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PatientModel } from '../../hardware-sim/src/physiology.ts';
import { VentilatorSim } from '../../hardware-sim/src/ventilator.ts';
import { formatTable } from '../src/cli/table.ts';
import { EdgeStore } from '../src/store/store.ts';

const bin = fileURLToPath(new URL('../bin/wardgate-edge.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wardgate-biomed-cli-'));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Async, so the simulators in this process keep answering while the CLI runs. */
function cli(...args: string[]): Promise<Run> {
  return cliWithEnv({}, ...args);
}

function cliWithEnv(env: Record<string, string>, ...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: dir,
      // Wide enough that no column is cut (cutting has its own test).
      env: { ...process.env, EDGE_HTTP_PORT: '', COLUMNS: '200', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** A port that was free a moment ago and has nothing listening on it now. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const ventilator = new VentilatorSim({
  id: 'bed-1-vent',
  bedId: 'bed-1',
  patient: new PatientModel({ seed: 7 }),
  host: '127.0.0.1',
  port: 0,
});

const T0 = Date.parse('2025-03-01T08:00:00Z');

function reading(over: Partial<ReadingInput>): ReadingInput {
  return {
    deviceId: 'bed-1-vent',
    bedId: 'bed-1',
    parameter: 'MDC_PRESS_AWAY_END_EXP_POS',
    value: 5,
    unit: 'cm[H2O]',
    deviceTime: T0,
    gatewayTime: T0,
    quality: 'valid',
    ...over,
  };
}

test.before(async () => {
  await ventilator.start();
  const sim = ventilator.address();
  const deadPort = await closedPort();
  const httpPort = await closedPort();
  writeFileSync(
    join(dir, 'edge.yaml'),
    `gateway:
  id: ward-a
  dataDir: data
cloud:
  mqttUrl: mqtt://127.0.0.1:1
  password: secret
  signingKeyFile: gateway.key
http:
  host: 127.0.0.1
  port: ${httpPort}
mllp:
  host: 127.0.0.1
  port: 0
devices:
  - id: bed-1-vent
    kind: ventilator
    bed: bed-1
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${sim.port}
    unitId: ${sim.unitId}
    profile: ${sim.profile}
    pollIntervalMs: 200
  - id: bed-2-vent
    kind: ventilator
    bed: bed-2
    driver: modbus-tcp
    host: 127.0.0.1
    port: ${deadPort}
    profile: sim-ventilator-v1
    timeoutMs: 200
  - id: bed-1-monitor
    kind: monitor
    bed: bed-1
    driver: hl7-mllp
    silentAfterSeconds: 30
`,
  );

  const store = new EdgeStore(join(dir, 'data', 'wardgate-edge.sqlite'));
  store.appendReadings([
    reading({ deviceTime: T0 - 1000, gatewayTime: T0 - 1000, value: 4 }), // before the range
    reading({ deviceTime: T0, gatewayTime: T0 + 50 }),
    reading({ bedId: 'bed-2', deviceId: 'bed-2-vent', deviceTime: T0 + 500 }), // other bed
    reading({
      deviceId: 'bed-1-monitor',
      parameter: 'MDC_ECG_HEART_RATE',
      unit: '/min',
      value: 72,
      deviceTime: T0 + 1000,
      gatewayTime: T0 + 1020,
      quality: 'questionable',
    }),
    reading({ deviceTime: T0 + 60_000, gatewayTime: T0 + 60_000, value: 6 }), // at --to: excluded
  ]);
  store.ack('readings', 2, T0 + 5000);
  store.close();
});

test('devices list shows every device with driver, address, poll interval and silence', async () => {
  const run = await cli('devices', 'list', '--config', 'edge.yaml');
  assert.is(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.match(lines[0], /^ID\s+KIND\s+BED\s+DRIVER\s+ADDRESS\s+POLL\s+SILENT AFTER$/);
  const { port, unitId } = ventilator.address();
  assert.match(
    lines[1],
    new RegExp(
      `^bed-1-vent\\s+ventilator\\s+bed-1\\s+modbus-tcp\\s+127\\.0\\.0\\.1:${port} unit ${unitId} sim-ventilator-v1\\s+200 ms\\s+10 s$`,
    ),
  );
  assert.match(
    lines[3],
    /^bed-1-monitor\s+monitor\s+bed-1\s+hl7-mllp\s+listens 127\.0\.0\.1:0\s+push\s+30 s$/,
  );
  assert.is(lines.length, 4);
});

test('devices test prints the readings of a live ventilator and exits 0', async () => {
  const run = await cli('devices', 'test', 'bed-1-vent', '--config', 'edge.yaml');
  assert.is(run.status, 0, run.stderr);
  assert.match(
    run.stdout,
    /^PEEP\s+[\d.]+\s+cm\[H2O\]\s+\d{4}-\d\d-\d\dT[\d:.]+Z\s+\(MDC_PRESS_AWAY_END_EXP_POS\)$/m,
  );
  assert.match(run.stdout, /ok: \d+ readings from bed-1-vent/);
  // Not a terminal: no progress line redrawn in place.
  assert.not.match(run.stdout, /\r/);
});

test('devices test of an unreachable device exits 1 and says why', async () => {
  const run = await cli('devices', 'test', 'bed-2-vent', '--config', 'edge.yaml', '--seconds', '1');
  assert.is(run.status, 1);
  assert.match(run.stderr, /no reading from bed-2-vent in 1 s: last error: .*ECONNREFUSED/);
  assert.not.match(run.stdout, /^PEEP/m);
});

test('devices test of an unknown id names the configured ones', async () => {
  const run = await cli('devices', 'test', 'bed-9-vent', '--config', 'edge.yaml');
  assert.is(run.status, 1);
  assert.match(
    run.stderr,
    /no device "bed-9-vent" in .*edge\.yaml \(configured: bed-1-vent, bed-2-vent, bed-1-monitor\)/,
  );
});

test('status without a running gateway reads the store and says so', async () => {
  const run = await cli('status', '--config', 'edge.yaml');
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stdout, /^gateway not running; from the store: .*wardgate-edge\.sqlite$/m);
  assert.match(run.stdout, /^readings\s+5\s+2\s+3\s+\d+ d ago$/m);
  assert.match(run.stdout, /^alarms\s+0\s+0\s+0\s+never$/m);
  assert.match(run.stdout, /^bed-1-vent\s+ventilator\s+bed-1\s+\d+ d ago$/m);
  assert.match(run.stdout, /^bed-1-monitor\s+monitor\s+bed-1\s+\d+ d ago$/m);
});

test('status asks the running gateway at EDGE_HTTP_PORT', async () => {
  const now = Date.now();
  const health = {
    status: 'degraded',
    gateway: 'ward-a',
    uptimeSeconds: 300,
    cloud: {
      connected: false,
      streams: { readings: { lastSeq: 40, ackedUpTo: 30, ackedAt: now - 10_000, backlog: 10 } },
    },
    devices: [
      {
        deviceId: 'bed-2-vent',
        kind: 'ventilator',
        state: 'offline',
        lastContact: null,
        messages: 0,
        errors: 3,
        lastError: 'connect ECONNREFUSED',
        detail: 'modbus-tcp 127.0.0.1:9',
      },
    ],
  };
  const server = createHttpServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(health));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as { port: number };
    const run = await cliWithEnv(
      { EDGE_HTTP_PORT: String(port) },
      'status',
      '--config',
      'edge.yaml',
    );
    assert.is(run.status, 0, run.stderr);
    assert.match(run.stdout, /^gateway ward-a: degraded, up 5 min$/m);
    assert.match(run.stdout, /^cloud link: DISCONNECTED$/m);
    assert.match(run.stdout, /^readings\s+40\s+30\s+10\s+\d+ s ago$/m);
    assert.match(
      run.stdout,
      /^bed-2-vent\s+ventilator\s+offline\s+never\s+0\s+3\s+connect ECONNREFUSED\s+modbus-tcp 127\.0\.0\.1:9$/m,
    );
    assert.not.match(run.stdout, /not running/);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

test('export writes the CSV of one bed in the range, other beds and times left out', async () => {
  const run = await cli(
    'export',
    '--config',
    'edge.yaml',
    '--bed',
    'bed-1',
    '--from',
    '2025-03-01T08:00:00Z',
    '--to',
    '2025-03-01T08:01:00Z',
    '--out',
    'bed-1.csv',
  );
  assert.is(run.status, 0, run.stderr);
  assert.equal(readFileSync(join(dir, 'bed-1.csv'), 'utf8').split('\n'), [
    'device_time_iso,device_id,bed_id,parameter,display,value,unit,quality',
    '2025-03-01T08:00:00.000Z,bed-1-vent,bed-1,MDC_PRESS_AWAY_END_EXP_POS,PEEP,5,cm[H2O],valid',
    '2025-03-01T08:00:01.000Z,bed-1-monitor,bed-1,MDC_ECG_HEART_RATE,HR,72,/min,questionable',
    '',
  ]);
  assert.match(run.stderr, /^2 rows of bed-1 from 2025-03-01T08:00:00\.000Z/);
});

test('export --parameter keeps only those parameters, to stdout', async () => {
  const run = await cli(
    'export',
    '--config',
    'edge.yaml',
    '--bed',
    'bed-1',
    '--from',
    '2025-03-01',
    '--to',
    '2025-03-02',
    '--parameter',
    'MDC_ECG_HEART_RATE',
  );
  assert.is(run.status, 0, run.stderr);
  assert.equal(run.stdout.trim().split('\n').slice(1), [
    '2025-03-01T08:00:01.000Z,bed-1-monitor,bed-1,MDC_ECG_HEART_RATE,HR,72,/min,questionable',
  ]);
});

test('export refuses a bad date with exit 2', async () => {
  const run = await cli(
    'export',
    '--config',
    'edge.yaml',
    '--bed',
    'bed-1',
    '--from',
    'yesterday',
    '--to',
    '2025-03-01T08:01:00Z',
  );
  assert.is(run.status, 2);
  assert.match(run.stderr, /--from must be an ISO 8601 date or date-time .* got "yesterday"/);
  assert.is(run.stdout, '');
});

test('formatTable cuts the widest column to fit the width', () => {
  const table = formatTable(['ID', 'DETAIL'], [['a', 'x'.repeat(50)]], 20);
  assert.equal(table.split('\n'), ['ID  DETAIL', `a   ${'x'.repeat(15)}…`]);
});

test.after(async () => {
  await ventilator.stop();
  rmSync(dir, { recursive: true, force: true });
});
test.run();
