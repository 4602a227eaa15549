import net from 'node:net';
import {
  decodeAlarmBits,
  decodeRegister,
  OXIMETER_EXCEPTIONS,
  parseOximeterLine,
  type RegisterTable,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import modbusSerial from 'modbus-serial';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ModbusDeviceSim } from '../src/modbus-device.ts';
import { OximeterSim } from '../src/oximeter.ts';
import { PatientModel, SCENARIOS, type Scenario, type Vitals } from '../src/physiology.ts';
import { PumpSim } from '../src/pump.ts';
import { VentilatorSim } from '../src/ventilator.ts';
import { Ward } from '../src/ward.ts';

// The package is CommonJS: its module object is the client class, also exported as `default`.
const ModbusClient = modbusSerial.default;
const START = 1_800_000_000_000;
const SECOND = 1000;
const patientWith = (scenario: Scenario, onsetSeconds = 20, seed = 4) =>
  new PatientModel({ seed, scenario, startedAt: START, onsetSeconds });
/** Ten consecutive seconds of vitals from `at`. */
const window = (patient: PatientModel, at: number) =>
  Array.from({ length: 10 }, (_, i) => patient.vitals(at + i * SECOND));
const all = (samples: Vitals[], key: keyof Vitals, ok: (v: number) => boolean) =>
  samples.every((v) => ok(v[key]));

const sims: { stop(): Promise<void> }[] = [];
test.after(async () => {
  await Promise.all(sims.map((s) => s.stop()));
});

test('every scenario is listed, the original two first', () => {
  assert.equal(SCENARIOS, [
    'stable',
    'deteriorating',
    'desaturation',
    'apnea',
    'tachycardia',
    'pump-occlusion',
    'vent-high-pressure',
    'sensor-off',
  ]);
});

test('desaturation: normal before the onset, below 88 % within 30 s of it, and it stays', () => {
  const patient = patientWith('desaturation');
  assert.is(patient.severity(START + 19 * SECOND), 0);
  assert.ok(
    all(window(patient, START), 'spo2', (v) => v >= 94),
    'normal SpO2 before onset',
  );
  const after = window(patient, START + 60 * SECOND);
  assert.ok(
    all(after, 'spo2', (v) => v < 88 && v >= 80),
    `SpO2 ${after.map((v) => v.spo2)}`,
  );
  assert.ok(
    all(window(patient, START + 600 * SECOND), 'spo2', (v) => v < 88),
    'stays down',
  );
});

test('apnea: breathing and exhaled CO2 stop after the onset', () => {
  const patient = patientWith('apnea');
  assert.ok(
    all(window(patient, START), 'respRate', (v) => v >= 10),
    'breathing before onset',
  );
  assert.ok(
    all(window(patient, START), 'etco2', (v) => v >= 30),
    'normal etCO2 before onset',
  );
  const after = window(patient, START + 40 * SECOND);
  assert.ok(
    all(after, 'respRate', (v) => v === 0),
    `RR ${after.map((v) => v.respRate)}`,
  );
  assert.ok(
    all(after, 'etco2', (v) => v <= 2),
    `etCO2 ${after.map((v) => v.etco2)}`,
  );
});

test('tachycardia: heart rate near 150 within 30 s of the onset', () => {
  const patient = patientWith('tachycardia');
  assert.ok(all(window(patient, START), 'heartRate', (v) => v < 100));
  const after = window(patient, START + 60 * SECOND);
  assert.ok(
    all(after, 'heartRate', (v) => v >= 145 && v <= 155),
    `HR ${after.map((v) => v.heartRate)}`,
  );
  assert.ok(
    all(after, 'pulseRate', (v) => v >= 143),
    'the pulse follows the heart',
  );
});

test('device scenarios leave the vitals as a stable patient has them', () => {
  for (const scenario of ['pump-occlusion', 'vent-high-pressure', 'sensor-off'] as const) {
    const bent = window(patientWith(scenario, 0, 9), START + 60 * SECOND);
    const stable = window(patientWith('stable', 0, 9), START + 60 * SECOND);
    assert.equal(bent, stable, scenario);
  }
});

test('a scenario is deterministic for a seed', () => {
  for (const scenario of SCENARIOS) {
    const at = START + 45 * SECOND;
    assert.equal(window(patientWith(scenario), at), window(patientWith(scenario), at), scenario);
  }
});

test('setScenario restarts the onset clock', () => {
  const patient = patientWith('stable');
  const switchedAt = START + 300 * SECOND;
  patient.setScenario('desaturation', switchedAt);
  assert.is(patient.scenario, 'desaturation');
  assert.is(patient.onsetAt, switchedAt + 20 * SECOND);
  assert.ok(
    all(window(patient, switchedAt), 'spo2', (v) => v >= 94),
    'not yet',
  );
  assert.ok(
    all(window(patient, switchedAt + 60 * SECOND), 'spo2', (v) => v < 88),
    'now',
  );
  patient.setScenario('stable', switchedAt + 120 * SECOND);
  assert.ok(
    all(window(patient, switchedAt + 121 * SECOND), 'spo2', (v) => v >= 94),
    'recovered',
  );
  assert.throws(() => patient.setScenario('zombie' as Scenario), /unknown scenario "zombie"/);
  assert.throws(() => new PatientModel({ onsetSeconds: -1 }), /onsetSeconds must be 0 or more/);
});

/** Reads a device sim's registers over real Modbus TCP: parameter values and alarm conditions. */
async function readModbus(sim: ModbusDeviceSim) {
  const { host, port, unitId } = sim.address();
  const client = new ModbusClient();
  await client.connectTCP(String(host), { port: Number(port) });
  client.setID(Number(unitId));
  const read = async (table: RegisterTable, address: number, count: number) =>
    (table === 'holding'
      ? await client.readHoldingRegisters(address, count)
      : await client.readInputRegisters(address, count)
    ).data;
  try {
    const values: Record<string, number> = {};
    for (const reg of sim.profile.registers) {
      const words = await read(reg.table, reg.address, reg.type.endsWith('32') ? 2 : 1);
      values[reg.parameter] = decodeRegister(reg, words, sim.profile.wordOrder);
    }
    const alarms = sim.profile.alarms!;
    const [word] = await read(alarms.table, alarms.address, 1);
    return { values, alarms: decodeAlarmBits(sim.profile, word).map((b) => b.condition) };
  } finally {
    await new Promise<void>((resolve) => client.close(() => resolve()));
  }
}

test('pump-occlusion: line pressure above the occlusion limit, occlusion bit set, rate 0', async () => {
  const patient = new PatientModel({
    seed: 2,
    scenario: 'pump-occlusion',
    startedAt: Date.now() - 60 * SECOND,
  });
  const pump = new PumpSim({ id: 'bed-1-pump', bedId: 'bed-1', patient });
  sims.push(pump);
  await pump.start();
  const occluded = await readModbus(pump);
  assert.ok(
    occluded.values.MDC_PRESS_FLUID_LINE > 300,
    `pressure ${occluded.values.MDC_PRESS_FLUID_LINE}`,
  );
  assert.is(occluded.values.MDC_FLOW_FLUID_PUMP, 0);
  assert.ok(occluded.alarms.includes('WG_PUMP_OCCLUSION'), `alarms ${occluded.alarms}`);

  // Cleared: the bit drops and the pump runs again at its rate (one refresh may sit in between).
  patient.setScenario('stable');
  const cleared = await waitFor(
    async () => {
      const now = await readModbus(pump);
      return !now.alarms.includes('WG_PUMP_OCCLUSION') && now.values.MDC_FLOW_FLUID_PUMP > 0 && now;
    },
    { what: 'the occlusion to clear' },
  );
  assert.is(cleared.values.MDC_FLOW_FLUID_PUMP, pump.rate);
  assert.ok(cleared.values.MDC_PRESS_FLUID_LINE < 300);
  await pump.stop();
});

test('vent-high-pressure: peak pressure above 40 cmH2O and the high-pressure bit set', async () => {
  const patient = new PatientModel({
    seed: 2,
    scenario: 'vent-high-pressure',
    startedAt: Date.now() - 60 * SECOND,
  });
  const vent = new VentilatorSim({ id: 'bed-1-vent', bedId: 'bed-1', patient });
  sims.push(vent);
  await vent.start();
  const read = await readModbus(vent);
  assert.ok(
    read.values.MDC_PRESS_AWAY_INSP_PEAK > 40,
    `peak ${read.values.MDC_PRESS_AWAY_INSP_PEAK}`,
  );
  const bit = vent.profile.alarms!.bits.find((b) => b.parameter === 'MDC_PRESS_AWAY_INSP_PEAK')!;
  assert.ok(read.alarms.includes(bit.condition), `alarms ${read.alarms}`);
  await vent.stop();

  const calm = new VentilatorSim({
    id: 'bed-2-vent',
    bedId: 'bed-2',
    patient: patientWith('stable'),
  });
  sims.push(calm);
  await calm.start();
  const normal = await readModbus(calm);
  assert.ok(normal.values.MDC_PRESS_AWAY_INSP_PEAK < 30);
  assert.equal(normal.alarms, []);
  await calm.stop();
});

test('sensor-off: the oximeter prints dashes and the sensor-off exception from the onset', async () => {
  const oxi = new OximeterSim({
    id: 'bed-1-oxi',
    bedId: 'bed-1',
    patient: patientWith('sensor-off'),
    intervalMs: 20,
  });
  const before = parseOximeterLine(oxi.line(START + 10 * SECOND));
  assert.ok(before.ok && before.spo2 !== null && before.exceptionBits === 0, 'reads before onset');
  const after = parseOximeterLine(oxi.line(START + 20 * SECOND));
  assert.ok(after.ok);
  if (!after.ok) return;
  assert.is(after.spo2, null);
  assert.is(after.pulseRate, null);
  assert.is(after.perfusionIndex, null);
  assert.is(after.exceptionBits & OXIMETER_EXCEPTIONS.sensorOff, OXIMETER_EXCEPTIONS.sensorOff);
  assert.ok(oxi.isSensorOff(START + 20 * SECOND));

  // On the wire too, once the scenario is active now.
  const live = new OximeterSim({
    id: 'bed-2-oxi',
    bedId: 'bed-2',
    patient: new PatientModel({ scenario: 'sensor-off' }),
    intervalMs: 20,
  });
  sims.push(live);
  await live.start();
  const { host, port } = live.address();
  const line = await new Promise<string>((resolve, reject) => {
    const socket = net.connect({ host: String(host), port: Number(port) });
    socket.once('error', reject);
    socket.once('data', (chunk) => {
      socket.destroy();
      resolve(chunk.toString());
    });
  });
  assert.match(line, /SPO2=---% BPM=--- PI=--\.--%/);
  await live.stop();
});

test('ward: scenarios per bed, an onset option, and setScenario at run time', () => {
  const ward = new Ward({ beds: 2, scenarios: { 'bed-2': 'sensor-off' }, onsetSeconds: 0 });
  const oxi = (bed: number) =>
    ward.beds[bed].listeners.find((d) => d.kind === 'oximeter') as OximeterSim;
  assert.is(ward.beds[1].patient.scenario, 'sensor-off');
  assert.ok(oxi(1).isSensorOff());
  assert.not.ok(oxi(0).isSensorOff());
  ward.setScenario('bed-1', 'sensor-off');
  assert.ok(oxi(0).isSensorOff());
  ward.setScenario('bed-2', 'stable');
  assert.not.ok(oxi(1).isSensorOff());
  assert.throws(() => ward.setScenario('bed-9', 'apnea'), /no bed "bed-9"/);

  const delayed = new Ward({ beds: 1, onsetSeconds: 20 });
  delayed.setScenario('bed-1', 'desaturation');
  const patient = delayed.beds[0].patient;
  assert.ok(patient.onsetAt - Date.now() > 19 * SECOND, 'the onset is 20 s after the switch');
});

test.run();
