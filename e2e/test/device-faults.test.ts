// Device faults on a live ward, every part real over loopback: the simulator makes one device
// misbehave (unplugged, half-open, slow, Modbus exceptions, garbage, broken HL7, broken serial
// lines, flapping) and the gateway must count and log it, raise the technical alarm the nurse
// sees, keep polling every other device, reconnect with backoff and recover by itself once the
// fault is gone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@wardgate/cloud/src/db/database.ts';
import type { DeviceStats } from '@wardgate/edge/src/drivers/types.ts';
import { TECHNICAL } from '@wardgate/edge/src/runtime/technical-checks.ts';
import type { DeviceFault, FaultyDevice } from '@wardgate/hardware-sim';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startWardStack, type WardStack } from '../support/ward-stack.ts';

const SILENT_AFTER_SECONDS = 2;
const BACKOFF = { initialMs: 250, maxMs: 10_000 };

let stack: WardStack;
let dbDir: string;
const logLines: string[] = [];

test.before(async () => {
  dbDir = mkdtempSync(join(tmpdir(), 'wardgate-faults-'));
  stack = await startWardStack({
    database: await openDatabase({ dataDir: dbDir }),
    beds: 2,
    ward: { monitorIntervalMs: 250, oximeterIntervalMs: 250 },
    pollIntervalMs: 250,
    silentAfterSeconds: SILENT_AFTER_SECONDS,
    config: {
      alarms: { commErrorClearSeconds: 2, unstableAfterDrops: 3, unstableWindowSeconds: 60 },
    },
    log: (level, message) => logLines.push(`${level} ${message}`),
  });
  await waitFor(() => stack.gateway.deviceStats().every((d) => d.state === 'online'), {
    timeoutMs: 20_000,
    what: 'every device online',
  });
});

test.after(async () => {
  await stack?.stop();
  rmSync(dbDir, { recursive: true, force: true });
});

function device(id: string): FaultyDevice {
  const found = stack.ward.devices.find((d) => d.id === id);
  if (!found) throw new Error(`no simulated device ${id}`);
  return found as unknown as FaultyDevice;
}

/** What the biomed page shows, over real HTTP. */
async function biomed(): Promise<DeviceStats[]> {
  const response = await fetch(`${stack.gatewayUrl}/api/biomed`);
  return ((await response.json()) as { devices: DeviceStats[] }).devices;
}

async function stats(id: string): Promise<DeviceStats> {
  const found = (await biomed()).find((d) => d.deviceId === id);
  if (!found) throw new Error(`gateway has no device ${id}`);
  return found;
}

const technicalAlarm = (deviceId: string, condition: string) =>
  stack.gateway.alarms
    .active()
    .find((a) => a.deviceId === deviceId && a.condition === condition && a.kind === 'technical');

/**
 * Puts `fault` on `deviceId`, waits for each expected technical alarm, checks the errors were
 * counted and logged and that every other device kept delivering meanwhile, then clears the
 * fault and waits for the device to recover by itself: online, readings flowing, alarms gone.
 */
async function faultCycle(
  deviceId: string,
  fault: DeviceFault,
  expect: { alarms: string[]; errors: RegExp | null; duringFault?: () => Promise<void> },
): Promise<void> {
  const before = new Map((await biomed()).map((d) => [d.deviceId, d]));
  const logFrom = logLines.length;
  device(deviceId).setFault(fault);
  try {
    for (const condition of expect.alarms)
      await waitFor(() => technicalAlarm(deviceId, condition), {
        timeoutMs: 15_000,
        what: `${condition} on ${deviceId} under ${fault.kind}`,
      });
    if (expect.errors) {
      await waitFor(
        async () => (await stats(deviceId)).errors > (before.get(deviceId)?.errors ?? 0),
        { what: `${fault.kind}: errors counted on ${deviceId}` },
      );
      const logged = logLines.slice(logFrom).filter((l) => l.includes(deviceId));
      assert.ok(
        logged.some((l) => expect.errors?.test(l)),
        `${fault.kind}: logged as ${expect.errors}, got ${logged.slice(-3).join(' | ')}`,
      );
    }
    // While the fault lasts every other device keeps delivering, at its own pace.
    const others = [...before.keys()].filter((id) => id !== deviceId);
    await waitFor(
      async () => {
        const now = await biomed();
        return others.every((id) => {
          const other = now.find((d) => d.deviceId === id);
          return other?.state === 'online' && other.messages >= (before.get(id)?.messages ?? 0) + 3;
        });
      },
      { what: `every device but ${deviceId} delivering during ${fault.kind}` },
    );
    await expect.duringFault?.();
  } finally {
    device(deviceId).setFault(null);
  }
  const recovered = (await stats(deviceId)).messages;
  await waitFor(
    async () => {
      const s = await stats(deviceId);
      return s.state === 'online' && s.messages >= recovered + 3;
    },
    { timeoutMs: 20_000, what: `${deviceId} delivering again after ${fault.kind}` },
  );
  for (const condition of [TECHNICAL.deviceSilent, TECHNICAL.commError])
    await waitFor(() => !technicalAlarm(deviceId, condition), {
      timeoutMs: 15_000,
      what: `${condition} on ${deviceId} cleared after ${fault.kind}`,
    });
}

test('ventilator unplugged: refused, not communicating, retried with backoff, back by itself', async () => {
  const id = 'bed-1-vent';
  const attemptsBefore = (await stats(id)).connectAttempts;
  let unpluggedAt = 0;
  await faultCycle(
    id,
    { kind: 'unplugged' },
    {
      alarms: [TECHNICAL.deviceSilent],
      errors: null,
      duringFault: async () => {
        unpluggedAt = Date.now();
        await waitFor(async () => /ECONNREFUSED/.test((await stats(id)).lastError ?? ''), {
          what: 'connection refused reported',
        });
        // Let a few retries pass, then check they spread out rather than hammer the device.
        await waitFor(async () => (await stats(id)).connectAttempts >= attemptsBefore + 4, {
          timeoutMs: 15_000,
          what: 'four reconnect attempts',
        });
        const elapsed = Date.now() - unpluggedAt + BACKOFF.initialMs;
        const attempts = (await stats(id)).connectAttempts - attemptsBefore;
        // Doubling from 250 ms: about log2(elapsed / 250) attempts, never one per poll.
        const bound = 2 + Math.log2(elapsed / BACKOFF.initialMs) + elapsed / BACKOFF.maxMs;
        assert.ok(
          attempts <= bound,
          `${attempts} attempts in ${elapsed} ms (backoff bound ${bound})`,
        );
        assert.match(
          technicalAlarm(id, TECHNICAL.deviceSilent)?.message ?? '',
          /bed-1-vent not communicating/,
        );
      },
    },
  );
});

test('ventilator half-open: reads time out, the link is dropped and redialled', async () => {
  await faultCycle(
    'bed-1-vent',
    { kind: 'half-open' },
    { alarms: [TECHNICAL.commError, TECHNICAL.deviceSilent], errors: /timed out/ },
  );
});

test('pump answering slower than the timeout: counted, and the other devices are not held up', async () => {
  await faultCycle(
    'bed-1-pump',
    { kind: 'slow', delayMs: 1500 },
    { alarms: [TECHNICAL.commError, TECHNICAL.deviceSilent], errors: /timed out/ },
  );
});

test('pump answering Modbus exception 4: each counted with its name; no values means not communicating', async () => {
  await faultCycle(
    'bed-1-pump',
    { kind: 'modbus-exception', code: 4 },
    {
      alarms: [TECHNICAL.commError, TECHNICAL.deviceSilent],
      errors: /Modbus exception 4 \(server device failure\)/,
    },
  );
});

test('ventilator sending garbage instead of answers: counted, dropped, recovered', async () => {
  await faultCycle(
    'bed-2-vent',
    { kind: 'garbage' },
    { alarms: [TECHNICAL.commError, TECHNICAL.deviceSilent], errors: /timed out/ },
  );
});

test('oximeter line noise: garbage dropped and counted, resynchronised afterwards', async () => {
  await faultCycle(
    'bed-1-oxi',
    { kind: 'garbage' },
    { alarms: [TECHNICAL.commError, TECHNICAL.deviceSilent], errors: /garbage|bad oximeter line/ },
  );
});

test('oximeter malformed lines: each rejected with the reason, none stored', async () => {
  const id = 'bed-2-oxi';
  await faultCycle(
    id,
    { kind: 'malformed-line' },
    {
      alarms: [TECHNICAL.commError, TECHNICAL.deviceSilent],
      errors: /bad oximeter line|garbage|longer/,
      duringFault: async () => {
        const s = await stats(id);
        assert.is(s.state, 'offline', 'a device sending only broken lines is not communicating');
      },
    },
  );
});

test('monitor sending truncated HL7: answered with an error ACK and counted; whole rows kept', async () => {
  await faultCycle(
    'bed-1-monitor',
    { kind: 'truncated-hl7' },
    // The cut that still holds whole OBX rows delivers those values: errors, but still talking.
    { alarms: [TECHNICAL.commError], errors: /no OBR|no OBX|MSH|unknown observation code/ },
  );
});

test('monitor sending malformed HL7: every variant rejected and counted', async () => {
  await faultCycle(
    'bed-2-monitor',
    { kind: 'malformed-hl7' },
    { alarms: [TECHNICAL.commError], errors: /MSH|unsupported message type|OBX|unparsable/ },
  );
});

test('monitor with line noise between its messages: noise counted, the messages still get through', async () => {
  const id = 'bed-1-monitor';
  await faultCycle(
    id,
    { kind: 'garbage' },
    {
      alarms: [TECHNICAL.commError],
      errors: /outside an MLLP frame|unparsable|MLLP/,
      duringFault: async () => {
        const from = (await stats(id)).messages;
        await waitFor(async () => (await stats(id)).messages >= from + 3, {
          what: 'good messages through the noise',
        });
      },
    },
  );
});

test('monitor half-open: connected but silent, so not communicating', async () => {
  await faultCycle(
    'bed-2-monitor',
    { kind: 'half-open' },
    { alarms: [TECHNICAL.deviceSilent], errors: null },
  );
});

test('flapping pump: one unstable-link alarm instead of a stream of silent ones', async () => {
  const id = 'bed-2-pump';
  const attemptsBefore = (await stats(id)).connectAttempts;
  await faultCycle(
    id,
    { kind: 'flapping', upMs: 1000, downMs: 500 },
    {
      alarms: [TECHNICAL.deviceUnstable],
      errors: null,
      duringFault: async () => {
        assert.ok((await stats(id)).connectAttempts >= attemptsBefore + 3, 'reconnected each time');
        assert.match(
          technicalAlarm(id, TECHNICAL.deviceUnstable)?.message ?? '',
          /connection unstable: \d+ drops in 1 min/,
        );
      },
    },
  );
});

test('flapping monitor: it dials in again each time and its messages keep arriving', async () => {
  const id = 'bed-1-monitor';
  const before = await stats(id);
  device(id).setFault({ kind: 'flapping', upMs: 600, downMs: 300 });
  try {
    await waitFor(async () => (await stats(id)).connectAttempts >= before.connectAttempts + 3, {
      timeoutMs: 15_000,
      what: 'three new connections from the monitor',
    });
    assert.ok((await stats(id)).messages > before.messages, 'messages arrived between the drops');
  } finally {
    device(id).setFault(null);
  }
  await waitFor(async () => (await stats(id)).state === 'online', { what: 'monitor online' });
});

test.run();
