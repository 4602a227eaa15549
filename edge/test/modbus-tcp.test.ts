import { PatientModel, PumpSim, VentilatorSim } from '@wardgate/hardware-sim';
import {
  type DeviceProfile,
  loadProfile,
  parametersOf,
  parseProfile,
  type ReadingInput,
  termFor,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModbusTcpDriver } from '../src/drivers/modbus-tcp.ts';
import { RecordingSink } from './support/recording-sink.ts';

const sims: (VentilatorSim | PumpSim)[] = [];
const drivers: ModbusTcpDriver[] = [];

async function startVentilator(port = 0) {
  const sim = new VentilatorSim({
    id: 'bed-1-vent',
    bedId: 'bed-1',
    patient: new PatientModel({ seed: 7 }),
    port,
  });
  sims.push(sim);
  await sim.start();
  return sim;
}

async function startPump(options: { rate?: number; vtbi?: number; infused?: number } = {}) {
  const sim = new PumpSim({
    id: 'bed-1-pump',
    bedId: 'bed-1',
    patient: new PatientModel({ seed: 8 }),
    port: 0,
    ...options,
  });
  sims.push(sim);
  await sim.start();
  return sim;
}

async function startDriver(
  sim: VentilatorSim | PumpSim,
  overrides: { unitId?: number; profile?: DeviceProfile; timeoutMs?: number } = {},
) {
  const address = sim.address();
  const driver = new ModbusTcpDriver({
    device: { id: sim.id, bed: sim.bedId, kind: sim.kind },
    host: String(address.host),
    port: Number(address.port),
    unitId: overrides.unitId ?? Number(address.unitId),
    profile: overrides.profile ?? loadProfile(String(address.profile)),
    pollIntervalMs: 50,
    timeoutMs: overrides.timeoutMs ?? 500,
    backoff: { initialMs: 20, maxMs: 100 },
  });
  drivers.push(driver);
  const sink = new RecordingSink();
  await driver.start(sink);
  return { driver, sink };
}

/** The first batch that carries every parameter of the profile. */
function fullBatch(sink: RecordingSink, kind: 'ventilator' | 'pump') {
  const wanted = parametersOf(kind).map((t) => t.mdc);
  return sink.batches.find((b) => wanted.every((p) => b.some((r) => r.parameter === p)));
}

const byParameter = (batch: ReadingInput[]) =>
  Object.fromEntries(batch.map((r) => [r.parameter, r.value]));

test.after(async () => {
  await Promise.all(drivers.map((d) => d.stop()));
  await Promise.all(sims.map((s) => s.stop()));
});

test('ventilator: every parameter arrives with its UCUM unit and a plausible value', async () => {
  const sim = await startVentilator();
  const { driver, sink } = await startDriver(sim);
  const batch = await waitFor(() => fullBatch(sink, 'ventilator'), { what: 'ventilator batch' });

  for (const r of batch) {
    assert.is(r.unit, termFor(r.parameter)?.ucum, r.parameter);
    assert.is(r.deviceId, 'bed-1-vent');
    assert.is(r.bedId, 'bed-1');
    assert.is(r.quality, 'valid');
    assert.is(r.deviceTime, r.gatewayTime);
  }
  const v = byParameter(batch);
  assert.is(v.MDC_VENT_RESP_RATE_SETTING, 14);
  assert.is(v.MDC_CONC_AWAY_O2_INSP, 40);
  assert.ok(v.MDC_VENT_RESP_RATE >= 14 && v.MDC_VENT_RESP_RATE <= 30, `RR ${v.MDC_VENT_RESP_RATE}`);
  assert.ok(
    v.MDC_VOL_AWAY_TIDAL >= 400 && v.MDC_VOL_AWAY_TIDAL <= 500,
    `Vt ${v.MDC_VOL_AWAY_TIDAL}`,
  );
  assert.ok(
    Math.abs(v.MDC_PRESS_AWAY_END_EXP_POS - 5) <= 0.3,
    `PEEP ${v.MDC_PRESS_AWAY_END_EXP_POS}`,
  );
  assert.ok(
    v.MDC_PRESS_AWAY_INSP_PEAK >= 18 && v.MDC_PRESS_AWAY_INSP_PEAK <= 30,
    `Ppeak ${v.MDC_PRESS_AWAY_INSP_PEAK}`,
  );
  // MV = RR × Vt, read from the same refresh of the device.
  const mv = (v.MDC_VENT_RESP_RATE * v.MDC_VOL_AWAY_TIDAL) / 1000;
  assert.ok(Math.abs(v.MDC_VOL_MINUTE_AWAY - mv) < 0.02, `MV ${v.MDC_VOL_MINUTE_AWAY} vs ${mv}`);

  assert.equal(sink.statuses[0], { deviceId: 'bed-1-vent', state: 'online', error: undefined });
  assert.equal(sink.errors, []);
  const [stats] = driver.stats();
  assert.is(stats.state, 'online');
  assert.ok(stats.messages >= 1);
  assert.is(stats.errors, 0);
  assert.ok(stats.lastContact !== null);
  assert.match(stats.detail, `modbus-tcp 127.0.0.1:${sim.address().port} unit 1`);
});

test('pump: every parameter arrives; volume infused grows over time', async () => {
  const sim = await startPump({ infused: 100, rate: 360 });
  const { sink } = await startDriver(sim);
  const batch = await waitFor(() => fullBatch(sink, 'pump'), { what: 'pump batch' });
  for (const r of batch) assert.is(r.unit, termFor(r.parameter)?.ucum, r.parameter);
  const v = byParameter(batch);
  assert.is(v.MDC_FLOW_FLUID_PUMP, 360);
  assert.is(v.MDC_VOL_FLUID_TBI, 1000);
  assert.ok(
    v.MDC_VOL_FLUID_DELIV >= 100 && v.MDC_VOL_FLUID_DELIV < 101,
    `infused ${v.MDC_VOL_FLUID_DELIV}`,
  );
  assert.ok(
    v.MDC_PRESS_FLUID_LINE >= 50 && v.MDC_PRESS_FLUID_LINE <= 150,
    `line pressure ${v.MDC_PRESS_FLUID_LINE}`,
  );
  // 360 mL/h is 0.1 mL/s: the 0.01 mL resolution shows it moving within a poll or two.
  await waitFor(() => (sink.latest('MDC_VOL_FLUID_DELIV')?.value ?? 0) > v.MDC_VOL_FLUID_DELIV, {
    what: 'volume infused to grow',
  });
});

test('alarm bits: forced disconnect gives deviceAlarm active, then inactive', async () => {
  const sim = await startVentilator();
  const { sink } = await startDriver(sim);
  await waitFor(() => sink.batches.length > 0, { what: 'first poll' });
  assert.equal(sink.alarms, []);

  sim.forceAlarm('WG_VENT_CIRCUIT_DISCONNECT', true);
  const raised = await waitFor(() => sink.alarms[0], { what: 'alarm raised' });
  assert.is(raised.condition, 'WG_VENT_CIRCUIT_DISCONNECT');
  assert.is(raised.active, true);
  assert.is(raised.priority, 'high');
  assert.is(raised.kind, 'technical');
  assert.is(raised.deviceId, 'bed-1-vent');
  assert.is(raised.message, 'Patient circuit disconnected');

  sim.forceAlarm(3, null);
  const cleared = await waitFor(() => sink.alarms[1], { what: 'alarm cleared' });
  assert.is(cleared.condition, 'WG_VENT_CIRCUIT_DISCONNECT');
  assert.is(cleared.active, false);
  assert.is(sink.alarms.length, 2, 'each edge reported once');
});

test('alarm bits from the device model: pump near end, then complete', async () => {
  // 3600 mL/h = 1 mL/s: 2 mL before the end the pump is near end, then completes.
  const sim = await startPump({ vtbi: 1000, infused: 998, rate: 3600 });
  const { sink } = await startDriver(sim);
  const nearEnd = await waitFor(() => sink.alarms.find((a) => a.condition === 'WG_PUMP_NEAR_END'));
  assert.is(nearEnd.active, true);
  assert.is(nearEnd.parameter, 'MDC_VOL_FLUID_TBI');
  assert.is(nearEnd.value, 1000);
  const complete = await waitFor(() =>
    sink.alarms.find((a) => a.condition === 'WG_PUMP_INFUSION_COMPLETE' && a.active),
  );
  assert.is(complete.priority, 'medium');
  await waitFor(() => sink.alarms.find((a) => a.condition === 'WG_PUMP_NEAR_END' && !a.active));
  // Settings and alarm word are separate reads, so the rate may trail the alarm by one poll.
  await waitFor(() => sink.latest('MDC_FLOW_FLUID_PUMP')?.value === 0, { what: 'rate 0' });
});

test('wrong unit id: unanswered polls are counted as errors, the driver keeps polling', async () => {
  const sim = await startVentilator();
  const { driver, sink } = await startDriver(sim, { unitId: 9, timeoutMs: 100 });
  await waitFor(() => driver.stats()[0].errors >= 3, { what: 'three timeouts' });
  const [stats] = driver.stats();
  assert.match(stats.lastError ?? '', /unit 9: reading .* no answer \(timed out\)/);
  assert.is(sink.errors.length, stats.errors);
  assert.equal(sink.batches, []);
  assert.not.ok(sink.statuses.some((s) => s.state === 'online'));
});

test('illegal address: exception 2 is counted, the other registers keep arriving', async () => {
  const sim = await startVentilator();
  const profile = structuredClone(loadProfile('sim-ventilator-v1'));
  const vt = profile.registers.find((r) => r.parameter === 'MDC_VOL_AWAY_TIDAL');
  if (!vt) throw new Error('profile lacks tidal volume');
  vt.address = 40; // the device has nothing there
  const { driver, sink } = await startDriver(sim, { profile: parseProfile(profile) });

  await waitFor(() => driver.stats()[0].errors >= 2, { what: 'two exceptions' });
  assert.match(
    sink.errors[0].message,
    /reading input 40\+1: Modbus exception 2 \(illegal data address\)/,
  );
  const before = sink.batches.length;
  await waitFor(() => sink.batches.length >= before + 2, { what: 'more polls' });
  const last = sink.batches[sink.batches.length - 1];
  assert.ok(last.some((r) => r.parameter === 'MDC_PRESS_AWAY_INSP_PEAK'));
  assert.not.ok(last.some((r) => r.parameter === 'MDC_VOL_AWAY_TIDAL'));
  assert.is(driver.stats()[0].state, 'online');
});

test('device stops → offline; back on the same port → online again by itself', async () => {
  const sim = await startVentilator();
  const port = Number(sim.address().port);
  const { driver, sink } = await startDriver(sim);
  await waitFor(() => driver.stats()[0].state === 'online', { what: 'online' });

  await sim.stop();
  const offline = await waitFor(() => sink.statuses.find((s) => s.state === 'offline'));
  assert.match(offline.error ?? '', new RegExp(`127.0.0.1:${port} unit 1: `));
  assert.is(driver.stats()[0].state, 'offline');
  // Reconnect attempts are refused while the device is down.
  await waitFor(() => /ECONNREFUSED/.test(driver.stats()[0].lastError ?? ''), {
    what: 'refused reconnects',
  });

  const batchesBefore = sink.batches.length;
  const again = await startVentilator(port);
  assert.is(again.address().port, port);
  await waitFor(() => driver.stats()[0].state === 'online', { what: 'online again' });
  assert.equal(
    sink.statuses.map((s) => s.state),
    ['online', 'offline', 'online'],
  );
  await waitFor(() => sink.batches.length > batchesBefore, { what: 'readings again' });
});

test('stop() closes everything, and a second stop is harmless', async () => {
  const sim = await startPump();
  const { driver, sink } = await startDriver(sim);
  await waitFor(() => sink.batches.length > 0);
  await driver.stop();
  const count = sink.batches.length;
  await driver.stop();
  assert.is(sink.batches.length, count);
});

test.run();
