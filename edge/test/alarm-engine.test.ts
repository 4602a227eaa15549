import type { AlarmEventInput, Quality, ReadingInput } from '@wardgate/shared';
import { AlarmEventInput as AlarmEventSchema, effectiveLimits } from '@wardgate/shared';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AlarmEngine, AlarmNotFoundError, isAudible } from '../src/alarms/engine.ts';
import type { AlarmEngineSettings } from '../src/alarms/types.ts';
import type { DeviceAlarmSignal } from '../src/drivers/types.ts';

const SPO2 = 'MDC_PULS_OXIM_SAT_O2';
const HR = 'MDC_ECG_HEART_RATE';
const SYS = 'MDC_PRESS_BLD_NONINV_SYS';
const TEMP = 'MDC_TEMP_BODY';
const T0 = 1_700_000_000_000;

const UNITS: Record<string, string> = { [SPO2]: '%', [HR]: '/min', [SYS]: 'mm[Hg]', [TEMP]: 'Cel' };

/** An engine on a fake clock, recording its transitions and change notifications. */
function setup(overrides: Partial<AlarmEngineSettings> = {}) {
  const clock = { now: T0 };
  const engine = new AlarmEngine(
    {
      defaultProfile: 'adult',
      beds: {},
      silenceSeconds: 120,
      escalateAfterSeconds: 60,
      ...overrides,
    },
    { gatewayId: 'gw-ward3', clock: () => clock.now },
  );
  const events: AlarmEventInput[] = [];
  let changes = 0;
  engine.onTransition((event) => events.push(event));
  engine.onChange(() => {
    changes += 1;
  });
  const at = (seconds: number) => {
    clock.now = T0 + seconds * 1000;
  };
  const read = (
    seconds: number,
    parameter: string,
    value: number,
    opts: { bedId?: string; quality?: Quality } = {},
  ) => {
    at(seconds);
    const bedId = opts.bedId ?? 'bed-1';
    const reading: ReadingInput = {
      deviceId: `${bedId}-monitor`,
      bedId,
      parameter,
      value,
      unit: UNITS[parameter] ?? '/min',
      deviceTime: clock.now,
      gatewayTime: clock.now,
      quality: opts.quality ?? 'valid',
    };
    engine.onReadings([reading]);
  };
  const tick = (seconds: number) => {
    at(seconds);
    engine.tick();
  };
  const transitions = () => events.map((e) => `${e.transition}:${e.condition}:${e.priority}`);
  return { engine, events, read, tick, at, transitions, changes: () => changes };
}

test('profiles: adult defaults, neonatal ranges, overrides merge field by field and are checked', () => {
  const adult = effectiveLimits('adult');
  assert.equal(adult[SPO2], {
    low: 90,
    delaySeconds: 10,
    lowPriority: 'high',
    highPriority: 'medium',
  });
  assert.equal([adult[HR].low, adult[HR].high, adult[HR].delaySeconds], [50, 120, 5]);
  assert.is(adult[SYS].delaySeconds, 0);
  assert.is(adult.MDC_RESP_RATE.lowPriority, 'high');
  const neonatal = effectiveLimits('neonatal', { [SPO2]: { low: 85 } });
  assert.equal([neonatal[SPO2].low, neonatal[SPO2].high], [85, 95]);
  assert.ok(neonatal[HR].low! > adult[HR].low!);
  assert.throws(
    () => effectiveLimits('adult', { [HR]: { low: 130 } }),
    /low 130 must be below high 120/,
  );
});

test('a crossing shorter than the condition delay raises nothing', () => {
  const t = setup();
  t.read(0, SPO2, 86);
  t.tick(5);
  t.read(9, SPO2, 85);
  t.read(9.5, SPO2, 95);
  t.tick(30);
  assert.equal(t.events, []);
  assert.equal(t.engine.active(), []);
});

test('a crossing that lasts the delay raises once, with value, limit and message', () => {
  const t = setup();
  t.read(0, SPO2, 86);
  t.tick(9.75);
  assert.is(t.events.length, 0);
  t.tick(10);
  t.read(11, SPO2, 84);
  t.tick(12);
  assert.equal(t.transitions(), ['raised:MDC_EVT_LO:high']);
  const [alarm] = t.engine.active();
  assert.is(alarm.parameter, SPO2);
  assert.is(alarm.raisedAt, T0 + 10_000);
  assert.is(alarm.value, 84);
  assert.is(alarm.limit, 90);
  assert.is(alarm.message, 'SpO2 84 % < 90 %');
  assert.is(alarm.source, 'gateway');
  assert.is(alarm.kind, 'physiological');
  assert.is(alarm.state, 'active');
});

test('a reading at or after the deadline raises without a tick; NIBP has no delay', () => {
  const t = setup();
  t.read(0, HR, 130);
  t.read(5, HR, 131);
  t.read(6, SYS, 170);
  assert.equal(
    t.engine.active().map((a) => a.message),
    ['NIBP sys 170 mmHg > 160 mmHg', 'HR 131 /min > 120 /min'],
  );
});

test('high alarm latches when its condition ends, until acknowledged, then clears', () => {
  const t = setup();
  t.read(0, SPO2, 80);
  t.tick(10);
  t.read(15, SPO2, 97);
  const [latched] = t.engine.active();
  assert.is(latched.state, 'latched');
  assert.equal(t.transitions(), ['raised:MDC_EVT_LO:high']);
  t.at(20);
  const acked = t.engine.acknowledge(latched.alarmId, 'RN-042');
  assert.equal(acked.acknowledged, { by: 'RN-042', at: T0 + 20_000 });
  assert.equal(t.transitions(), [
    'raised:MDC_EVT_LO:high',
    'acknowledged:MDC_EVT_LO:high',
    'cleared:MDC_EVT_LO:high',
  ]);
  assert.equal(t.engine.active(), []);
});

test('a medium alarm clears by itself when its condition ends', () => {
  const t = setup();
  t.read(0, TEMP, 39.2);
  t.tick(10);
  assert.is(t.engine.active()[0].message, 'Temp 39.2 °C > 38.5 °C');
  t.read(20, TEMP, 37.8);
  assert.equal(t.transitions(), ['raised:MDC_EVT_HI:medium', 'cleared:MDC_EVT_HI:medium']);
  assert.equal(t.engine.active(), []);
  assert.ok(t.changes() >= 2);
});

test('acknowledging an active alarm records the actor, stops escalation, clears with the condition', () => {
  const t = setup();
  t.read(0, HR, 40);
  t.tick(5);
  const [alarm] = t.engine.active();
  t.at(10);
  t.engine.acknowledge(alarm.alarmId, '  RN-7 ');
  const ack = t.events[1];
  assert.is(ack.transition, 'acknowledged');
  assert.is(ack.actor, 'RN-7');
  assert.is(ack.time, T0 + 10_000);
  assert.ok(!isAudible(t.engine.active()[0], T0 + 10_000));
  t.tick(600);
  assert.is(t.events.length, 2, 'no escalation after the ack');
  assert.is(t.engine.acknowledge(alarm.alarmId, 'RN-8').acknowledged?.by, 'RN-7');
  assert.is(t.events.length, 2, 'a second ack changes nothing');
  t.read(601, HR, 70);
  assert.equal(t.transitions(), [
    'raised:MDC_EVT_LO:high',
    'acknowledged:MDC_EVT_LO:high',
    'cleared:MDC_EVT_LO:high',
  ]);
});

test('silence pauses the audio for silenceSeconds, then it returns while the condition persists', () => {
  const t = setup({ escalateAfterSeconds: 3600 });
  t.read(0, SYS, 80);
  const [alarm] = t.engine.active();
  assert.ok(isAudible(alarm, T0));
  t.at(1);
  const [silenced] = t.engine.silence(alarm.alarmId, 'RN-1');
  assert.is(silenced.silencedUntil, T0 + 121_000);
  assert.is(silenced.silencedBy, 'RN-1');
  assert.ok(!isAudible(silenced, T0 + 1000));
  assert.equal(
    t.events.map((e) => [e.transition, e.actor]),
    [
      ['raised', undefined],
      ['silenced', 'RN-1'],
    ],
  );
  t.tick(120);
  assert.is(t.engine.active()[0].silencedUntil, T0 + 121_000);
  const before = t.changes();
  t.tick(121);
  const back = t.engine.active()[0];
  assert.is(back.silencedUntil, null);
  assert.is(back.silencedBy, null);
  assert.ok(isAudible(back, T0 + 121_000));
  assert.is(t.changes(), before + 1);
  assert.is(t.events.length, 2, 'the audio returning is no transition');
});

test('silence by bed id covers every alarm of the bed; unknown ids and empty actors throw', () => {
  const t = setup();
  t.read(0, SYS, 80);
  t.read(0, SYS, 200, { bedId: 'bed-2' });
  t.read(1, TEMP, 40);
  t.tick(11);
  const silenced = t.engine.silence('bed-1', 'RN-1');
  assert.equal(silenced.map((a) => a.parameter).sort(), [SYS, TEMP]);
  assert.ok(t.engine.active().find((a) => a.bedId === 'bed-2')?.silencedUntil === null);
  assert.throws(
    () => t.engine.silence('bed-99', 'RN-1'),
    (e: Error) => e instanceof AlarmNotFoundError,
  );
  assert.throws(() => t.engine.acknowledge('nope', 'RN-1'), /no current alarm or bed "nope"/);
  assert.throws(() => t.engine.acknowledge(silenced[0].alarmId, ' '), /actor .* is required/);
  t.read(12, HR, 80, { bedId: 'bed-4' });
  assert.equal(t.engine.silence('bed-4', 'RN-1'), [], 'a known bed without alarms');
});

test('escalation: medium becomes high, then high gets the escalated flag, each once', () => {
  const t = setup({ escalateAfterSeconds: 60 });
  t.read(0, SYS, 170);
  t.tick(59);
  assert.is(t.engine.active()[0].priority, 'medium');
  t.tick(60);
  let alarm = t.engine.active()[0];
  assert.is(alarm.priority, 'high');
  assert.is(alarm.escalated, false);
  t.tick(119);
  assert.is(t.engine.active()[0].escalated, false);
  t.tick(120);
  t.tick(500);
  alarm = t.engine.active()[0];
  assert.is(alarm.escalated, true);
  assert.equal(t.transitions(), [
    'raised:MDC_EVT_HI:medium',
    'escalated:MDC_EVT_HI:high',
    'escalated:MDC_EVT_HI:high',
  ]);
  assert.equal(
    t.events.slice(1).map((e) => e.time),
    [T0 + 60_000, T0 + 120_000],
  );
});

test('a high alarm unacknowledged for escalateAfterSeconds is escalated; silence does not stop it', () => {
  const t = setup({ escalateAfterSeconds: 30 });
  t.read(0, HR, 35);
  t.tick(5);
  t.engine.silence('bed-1', 'RN-1');
  t.tick(34);
  assert.is(t.engine.active()[0].escalated, false);
  t.tick(35);
  assert.is(t.engine.active()[0].escalated, true);
  assert.equal(t.transitions(), [
    'raised:MDC_EVT_LO:high',
    'silenced:MDC_EVT_LO:high',
    'escalated:MDC_EVT_LO:high',
  ]);
});

const deviceSignal = (over: Partial<DeviceAlarmSignal>): DeviceAlarmSignal => ({
  deviceId: 'bed-1-oximeter',
  bedId: 'bed-1',
  condition: 'MDC_EVT_LO',
  parameter: SPO2,
  priority: 'high',
  kind: 'physiological',
  active: true,
  value: 82,
  limit: 88,
  message: 'SpO2 low',
  time: T0,
  ...over,
});

test('device-raised alarm: raised at once, latched when high, repeats change nothing', () => {
  const t = setup();
  t.engine.onDeviceAlarm(deviceSignal({}));
  t.engine.onDeviceAlarm(deviceSignal({}));
  const [alarm] = t.engine.active();
  assert.equal(
    [alarm.source, alarm.deviceId, alarm.value, alarm.limit],
    ['device', 'bed-1-oximeter', 82, 88],
  );
  t.at(3);
  t.engine.onDeviceAlarm(deviceSignal({ active: false }));
  assert.is(t.engine.active()[0].state, 'latched');
  t.engine.onDeviceAlarm(deviceSignal({ value: 80 }));
  assert.is(t.engine.active()[0].state, 'active', 'a latched alarm comes back to life');
  assert.is(t.engine.active()[0].alarmId, alarm.alarmId);
  assert.equal(t.transitions(), ['raised:MDC_EVT_LO:high']);
});

test('device-raised technical alarm (sensor off) clears with its condition, medium too', () => {
  const t = setup();
  t.engine.onDeviceAlarm(
    deviceSignal({
      condition: 'SENSOR_OFF',
      kind: 'technical',
      priority: 'high',
      value: undefined,
    }),
  );
  t.engine.onDeviceAlarm(
    deviceSignal({ condition: 'MDC_EVT_HI', parameter: HR, priority: 'medium' }),
  );
  assert.is(t.engine.active().length, 2);
  t.engine.onDeviceAlarm(
    deviceSignal({ condition: 'SENSOR_OFF', kind: 'technical', active: false }),
  );
  t.engine.onDeviceAlarm(deviceSignal({ condition: 'MDC_EVT_HI', parameter: HR, active: false }));
  assert.equal(t.engine.active(), []);
  assert.equal(t.transitions(), [
    'raised:SENSOR_OFF:high',
    'raised:MDC_EVT_HI:medium',
    'cleared:SENSOR_OFF:high',
    'cleared:MDC_EVT_HI:medium',
  ]);
  assert.throws(() => t.engine.onDeviceAlarm(deviceSignal({ condition: '' })), /condition code/);
});

test('technical alarm: raised and cleared, never latched even when high, repeats ignored', () => {
  const t = setup();
  const condition = {
    condition: 'WG_DEVICE_SILENT',
    deviceId: 'bed-1-monitor',
    bedId: 'bed-1',
    active: true,
    priority: 'high' as const,
    message: 'bed-1-monitor not communicating',
    time: T0,
  };
  t.engine.onTechnical(condition);
  const changes = t.changes();
  t.engine.onTechnical(condition);
  assert.is(t.changes(), changes);
  const [alarm] = t.engine.active();
  assert.equal([alarm.kind, alarm.source, alarm.state], ['technical', 'gateway', 'active']);
  t.engine.onTechnical({ ...condition, active: false });
  t.engine.onTechnical({ ...condition, active: false });
  assert.equal(t.engine.active(), []);
  assert.equal(t.transitions(), ['raised:WG_DEVICE_SILENT:high', 'cleared:WG_DEVICE_SILENT:high']);
});

test('per-bed settings: config beds, then the cloud override, then back', () => {
  const t = setup({ beds: { 'bed-2': { profile: 'pediatric' } } });
  t.engine.setBedSettings('nicu-1', {
    profile: 'neonatal',
    limits: { [SPO2]: { low: 85, delaySeconds: 0 } },
  });
  t.read(0, SPO2, 87, { bedId: 'nicu-1' });
  t.read(0, SPO2, 96, { bedId: 'nicu-1' });
  t.read(0, HR, 60, { bedId: 'bed-2' });
  t.tick(20);
  t.read(21, HR, 60, { bedId: 'bed-1' });
  t.tick(30);
  assert.equal(
    t.engine.active().map((a) => `${a.bedId} ${a.message}`),
    ['bed-2 HR 60 /min < 70 /min', 'nicu-1 SpO2 96 % > 95 %'],
  );
  t.engine.setBedSettings('bed-2', { profile: 'adult' });
  t.read(31, HR, 60, { bedId: 'bed-2' });
  assert.is(t.engine.active().filter((a) => a.bedId === 'bed-2')[0].state, 'latched');
  t.engine.setBedSettings('bed-2', undefined);
  assert.is(t.engine.limitsFor('bed-2')[HR].low, 70);
  assert.throws(
    () => t.engine.setBedSettings('bed-2', { limits: { [HR]: { high: 10 } } }),
    /low 50 must be below high 10/,
  );
  assert.is(t.engine.limitsFor('bed-2')[HR].high, 150, 'bad settings leave the previous ones');
});

test('invalid readings are ignored: they neither start nor end a condition', () => {
  const t = setup();
  t.read(0, SYS, 40, { quality: 'invalid' });
  assert.equal(t.engine.active(), []);
  t.read(1, SYS, 200);
  t.read(2, SYS, 120, { quality: 'invalid' });
  assert.is(t.engine.active().length, 1);
  t.read(3, SYS, 200, { quality: 'questionable' });
  assert.is(t.engine.active().length, 1);
});

test('active(): highest priority first, then most recent first', () => {
  const t = setup({ escalateAfterSeconds: 3600 });
  t.read(0, SYS, 200);
  t.read(1, TEMP, 30);
  t.read(1, HR, 30);
  t.read(3, SYS, 200, { bedId: 'bed-2' });
  t.tick(11);
  t.engine.onTechnical({
    condition: 'WG_CLOCK_SKEW',
    deviceId: 'gw-ward3',
    bedId: 'gateway',
    active: true,
    priority: 'low',
    message: 'gateway clock 40 s off',
    time: T0,
  });
  assert.equal(
    t.engine.active().map((a) => `${a.priority} ${a.bedId} ${a.parameter ?? a.condition}`),
    [
      `high bed-1 ${HR}`,
      `medium bed-1 ${TEMP}`,
      `medium bed-2 ${SYS}`,
      `medium bed-1 ${SYS}`,
      'low gateway WG_CLOCK_SKEW',
    ],
  );
});

test('transitions carry every field, validate as AlarmEventInput and keep one alarm id', () => {
  const t = setup();
  t.read(0, SPO2, 85);
  t.tick(10);
  const id = t.engine.active()[0].alarmId;
  t.at(12);
  t.engine.silence(id, 'RN-3');
  t.engine.acknowledge(id, 'RN-3');
  t.read(13, SPO2, 95);
  for (const event of t.events) AlarmEventSchema.parse(event);
  assert.ok(t.events.every((e) => e.alarmId === id));
  assert.match(id, /^gw-ward3\.bed-1\./);
  assert.equal(t.events[0], {
    alarmId: id,
    deviceId: 'bed-1-monitor',
    bedId: 'bed-1',
    source: 'gateway',
    condition: 'MDC_EVT_LO',
    parameter: SPO2,
    priority: 'high',
    kind: 'physiological',
    transition: 'raised',
    value: 85,
    limit: 90,
    message: 'SpO2 85 % < 90 %',
    time: T0 + 10_000,
  });
  assert.equal(
    t.events.map((e) => e.transition),
    ['raised', 'silenced', 'acknowledged', 'cleared'],
  );
  assert.is(t.events[3].time, T0 + 13_000);
});

test('a throwing listener is counted and does not stop the engine', () => {
  const t = setup();
  t.engine.onTransition(() => {
    throw new Error('store down');
  });
  t.read(0, SYS, 200);
  assert.is(t.engine.listenerErrors, 1);
  assert.is(t.events.length, 1);
  assert.is(t.engine.active().length, 1);
});

test.run();
