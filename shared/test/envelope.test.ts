import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  canonicalJson,
  encodeEnvelope,
  generateSigningKeyPair,
  initCrypto,
  openEnvelope,
  type Reading,
  sealEnvelope,
} from '../src/index.ts';

await initCrypto();
const keys = generateSigningKeyPair();
const other = generateSigningKeyPair();

const reading = (seq: number): Reading => ({
  seq,
  deviceId: 'mon-1',
  bedId: 'bed-1',
  parameter: 'MDC_ECG_HEART_RATE',
  value: 72 + seq,
  unit: '/min',
  deviceTime: 1_764_000_000_000 + seq,
  gatewayTime: 1_764_000_000_050 + seq,
  quality: 'valid',
});
const expected = { gatewayId: 'gw-1', stream: 'readings' as const };
const keyOf = (id: string) => (id === 'gw-1' ? keys.publicKey : undefined);

test('canonical JSON sorts keys at every depth and drops undefined', () => {
  assert.is(
    canonicalJson({ b: 1, a: [{ d: 2, c: undefined, b: 'x' }] }),
    '{"a":[{"b":"x","d":2}],"b":1}',
  );
  assert.throws(() => canonicalJson({ a: Number.NaN }));
});

test('a sealed envelope opens with the gateway key', () => {
  const env = sealEnvelope('gw-1', 'readings', [reading(1), reading(2)], keys.secretKey);
  const opened = openEnvelope(encodeEnvelope(env), expected, keyOf);
  assert.ok(opened.ok);
  if (opened.ok)
    assert.equal(
      opened.envelope.records.map((r) => r.seq),
      [1, 2],
    );
});

test('key order on the wire does not matter', () => {
  const env = sealEnvelope('gw-1', 'readings', [reading(1)], keys.secretKey);
  const reordered = JSON.stringify(Object.fromEntries(Object.entries(env).reverse()));
  assert.ok(openEnvelope(reordered, expected, keyOf).ok);
});

test('a tampered value, a foreign key, a wrong topic and garbage are refused with their code', () => {
  const env = sealEnvelope('gw-1', 'readings', [reading(1)], keys.secretKey);
  const tampered = JSON.parse(JSON.stringify(env));
  tampered.records[0].value = 180;
  const bad = openEnvelope(JSON.stringify(tampered), expected, keyOf);
  assert.equal(bad.ok ? null : bad.error.code, 'bad-signature');

  const forged = sealEnvelope('gw-1', 'readings', [reading(1)], other.secretKey);
  const f = openEnvelope(encodeEnvelope(forged), expected, keyOf);
  assert.equal(f.ok ? null : f.error.code, 'bad-signature');

  const m = openEnvelope(encodeEnvelope(env), { gatewayId: 'gw-2', stream: 'readings' }, keyOf);
  assert.equal(m.ok ? null : m.error.code, 'topic-mismatch');

  const g = openEnvelope('{"v":1,', expected, keyOf);
  assert.equal(g.ok ? null : g.error.code, 'malformed-json');

  const unknown = sealEnvelope('gw-9', 'readings', [reading(1)], keys.secretKey);
  const u = openEnvelope(encodeEnvelope(unknown), { gatewayId: 'gw-9', stream: 'readings' }, keyOf);
  assert.equal(u.ok ? null : u.error.code, 'unknown-gateway');
});

test('records out of seq order are refused', () => {
  const env = sealEnvelope('gw-1', 'readings', [reading(2), reading(1)], keys.secretKey);
  const r = openEnvelope(encodeEnvelope(env), expected, keyOf);
  assert.equal(r.ok ? null : r.error.code, 'seq-order');
});

test.run();
