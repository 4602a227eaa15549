import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXAMPLE_CONFIG } from '../src/config/example.ts';
import { ConfigError, loadConfig, parseConfig } from '../src/config/load.ts';

const problemsOf = (text: string) => {
  try {
    parseConfig(text, '/etc/wardgate/edge.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.unreachable('the config should have been refused');
  return [];
};

test('the example config written by init is valid and fills defaults', () => {
  const loaded = parseConfig(EXAMPLE_CONFIG, '/etc/wardgate/edge.yaml');
  assert.is(loaded.config.gateway.id, 'ward-a');
  assert.is(loaded.dataDir, '/etc/wardgate/data');
  assert.is(loaded.signingKeyFile, '/etc/wardgate/gateway.key');
  assert.is(loaded.config.devices.length, 4);
  assert.is(loaded.profiles.get('bed-1-vent')?.kind, 'ventilator');
  const monitor = loaded.config.devices[0];
  assert.is(monitor.silentAfterSeconds, 10);
});

test('a wrong field is reported with its path, problem and line', () => {
  const text = EXAMPLE_CONFIG.replace(
    '    port: 502\n    unitId: 1\n    profile: sim-ventilator-v1',
    '    port: "five"\n    unitId: 1\n    profile: sim-ventilator-v1',
  );
  const problems = problemsOf(text);
  assert.is(problems.length, 1);
  assert.is(problems[0].field, 'devices[1].port');
  assert.match(problems[0].message, /number/);
  const line = text.split('\n').findIndex((l) => l.includes('port: "five"')) + 1;
  assert.is(problems[0].line, line);
});

test('every problem is reported at once: unknown driver, unknown field, duplicate id, bad gateway id', () => {
  const text = `gateway:
  id: Ward_A
  dataDir: ./data
cloud:
  mqttUrl: mqtt://cloud:4783
  password: x
  signingKeyFile: k
  colour: blue
devices:
  - id: m1
    kind: monitor
    bed: bed-1
    driver: carrier-pigeon
  - id: m2
    kind: monitor
    bed: bed-1
    driver: hl7-mllp
  - id: m2
    kind: monitor
    bed: bed-2
    driver: hl7-mllp
`;
  const problems = problemsOf(text);
  const byField = new Map(problems.map((p) => [p.field, p]));
  assert.match(byField.get('gateway.id')?.message ?? '', /lowercase/);
  assert.is(byField.get('gateway.id')?.line, 2);
  assert.match(byField.get('cloud')?.message ?? '', /unknown field "colour"/);
  assert.match(byField.get('devices[0].driver')?.message ?? '', /hl7-mllp, modbus-tcp/);
  assert.ok(problems.some((p) => p.field === 'devices[0]' || p.field === 'devices[0].driver'));
  assert.ok(problems.some((p) => p.field.startsWith('devices[') && /mllp/.test(p.message)));
});

test('a duplicate device id and an mllp device without a listener are refused', () => {
  const text = `gateway: { id: ward-a, dataDir: d }
cloud: { mqttUrl: "mqtt://c:1", password: p, signingKeyFile: k }
devices:
  - { id: m1, kind: monitor, bed: bed-1, driver: hl7-mllp }
  - { id: m1, kind: monitor, bed: bed-2, driver: hl7-mllp }
`;
  const problems = problemsOf(text);
  assert.ok(
    problems.some(
      (p) =>
        p.field === 'devices[1].id' && /duplicate device id "m1"/.test(p.message) && p.line === 5,
    ),
  );
  assert.ok(problems.some((p) => p.field === 'devices[0].driver' && /mllp/.test(p.message)));
});

test('a missing or mismatched profile is refused, naming the profile', () => {
  const base = `gateway: { id: ward-a, dataDir: d }
cloud: { mqttUrl: "mqtt://c:1", password: p, signingKeyFile: k }
devices:
  - { id: v1, kind: ventilator, bed: bed-1, driver: modbus-tcp, host: h, profile: PROFILE }
`;
  const missing = problemsOf(base.replace('PROFILE', 'no-such-profile'));
  assert.is(missing[0].field, 'devices[0].profile');
  assert.match(missing[0].message, /no-such-profile/);
  const mismatched = problemsOf(base.replace('PROFILE', 'sim-pump-v1'));
  assert.match(mismatched[0].message, /for a pump, but the device is a ventilator/);
});

test('YAML syntax errors carry their line; a missing file is a clear error', () => {
  const problems = problemsOf('gateway:\n  id: ward-a\n  dataDir: [unclosed\n');
  assert.match(problems[0].message, /YAML syntax/);
  assert.ok(problems[0].line);
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-config-'));
  try {
    assert.throws(() => loadConfig(join(dir, 'absent.yaml')), /ENOENT|no such file/);
    writeFileSync(join(dir, 'ok.yaml'), EXAMPLE_CONFIG);
    assert.is(loadConfig(join(dir, 'ok.yaml')).dataDir, join(dir, 'data'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
