import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  TECHNICAL,
  type TechnicalInputs,
  technicalConditions,
} from '../src/runtime/technical-checks.ts';

const MINUTE = 60_000;

function inputs(now: number, over: Partial<TechnicalInputs> = {}): TechnicalInputs {
  return {
    gatewayId: 'gw',
    now,
    devices: [{ deviceId: 'bed-1-vent', bedId: 'bed-1', state: 'online', error: null }],
    lastFrameErrorAt: new Map(),
    commErrorClearMs: 30_000,
    dropsAt: new Map(),
    unstableAfterDrops: 3,
    unstableWindowMs: 5 * MINUTE,
    dataDir: '.',
    minFreeDiskMb: 1,
    cloudConnected: true,
    cloudDownSince: null,
    cloudUnreachableSeconds: 300,
    clockSkewMs: 0,
    ...over,
  };
}

const state = (now: number, over: Partial<TechnicalInputs>, condition: string) =>
  technicalConditions(inputs(now, over), { devices: true, gateway: false }).find(
    (c) => c.condition === condition,
  );

test('three drops within the window make a device unstable; it clears once they age out', () => {
  const t0 = 1_000_000_000;
  const dropsAt = new Map([['bed-1-vent', [t0, t0 + 10_000, t0 + 20_000]]]);
  const during = state(t0 + 30_000, { dropsAt }, TECHNICAL.deviceUnstable);
  assert.is(during?.active, true);
  assert.is(during?.message, 'bed-1-vent connection unstable: 3 drops in 5 min');
  assert.is(during?.priority, 'low');
  // Two drops are not flapping.
  const two = new Map([['bed-1-vent', [t0, t0 + 10_000]]]);
  assert.is(state(t0 + 30_000, { dropsAt: two }, TECHNICAL.deviceUnstable)?.active, false);
  // The first drop leaves the window: two remain, the alarm's condition is over.
  assert.is(state(t0 + 5 * MINUTE + 1, { dropsAt }, TECHNICAL.deviceUnstable)?.active, false);
});

test('a comm error stays raised for the clear window after the last error, then ends', () => {
  const t0 = 2_000_000_000;
  const lastFrameErrorAt = new Map([['bed-1-vent', { time: t0, message: 'timed out' }]]);
  const at = (ms: number) =>
    state(t0 + ms, { lastFrameErrorAt, commErrorClearMs: 30_000 }, TECHNICAL.commError);
  assert.is(at(29_999)?.active, true);
  assert.match(at(0)?.message ?? '', /bed-1-vent communication errors: timed out/);
  assert.is(at(30_000)?.active, false);
});

test('an offline device is not communicating, with the reason it went offline', () => {
  const silent = state(
    0,
    {
      devices: [
        { deviceId: 'bed-1-vent', bedId: 'bed-1', state: 'offline', error: 'ECONNREFUSED' },
      ],
    },
    TECHNICAL.deviceSilent,
  );
  assert.is(silent?.active, true);
  assert.is(silent?.message, 'bed-1-vent not communicating: ECONNREFUSED');
});

test.run();
