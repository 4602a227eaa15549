import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type DeviceProfile,
  decodeAlarmBits,
  decodeRegister,
  encodeRegister,
  listProfiles,
  loadProfile,
  parametersOf,
  parseProfile,
  type RegisterDef,
  registerSpan,
  termFor,
} from '../src/index.ts';

const reg = (type: RegisterDef['type'], scale = 1): RegisterDef => ({
  name: 'r',
  parameter: 'MDC_PRESS_FLUID_LINE',
  table: 'input',
  address: 0,
  type,
  scale,
  unit: 'mm[Hg]',
});

const validProfile = () => ({
  id: 'test-profile',
  manufacturer: 'acme',
  model: 'T1',
  kind: 'pump',
  wordOrder: 'big',
  registers: [
    {
      name: 'rate',
      parameter: 'MDC_FLOW_FLUID_PUMP',
      table: 'holding',
      address: 0,
      type: 'uint16',
      scale: 0.1,
      unit: 'mL/h',
    },
    {
      name: 'infused',
      parameter: 'MDC_VOL_FLUID_DELIV',
      table: 'holding',
      address: 1,
      type: 'uint32',
      scale: 0.01,
      unit: 'mL',
    },
  ],
  alarms: {
    table: 'input',
    address: 0,
    bits: [
      {
        bit: 0,
        condition: 'WG_PUMP_OCCLUSION',
        priority: 'high',
        kind: 'technical',
        message: 'Occl',
      },
      {
        bit: 3,
        condition: 'WG_PUMP_BATTERY_LOW',
        priority: 'low',
        kind: 'technical',
        message: 'Batt',
      },
    ],
  },
});

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an error');
};

test('both shipped profiles load, validate and cover every parameter of their kind', () => {
  assert.equal(listProfiles().includes('sim-ventilator-v1'), true);
  assert.equal(listProfiles().includes('sim-pump-v1'), true);
  for (const [name, kind] of [
    ['sim-ventilator-v1', 'ventilator'],
    ['sim-pump-v1', 'pump'],
  ] as const) {
    const profile = loadProfile(name);
    assert.is(profile.id, name);
    assert.is(profile.kind, kind);
    const mapped = profile.registers.map((r) => r.parameter).sort();
    assert.equal(
      mapped,
      parametersOf(kind)
        .map((t) => t.mdc)
        .sort(),
    );
    for (const r of profile.registers) assert.is(r.unit, termFor(r.parameter)?.ucum);
  }
  const types = ['sim-ventilator-v1', 'sim-pump-v1'].flatMap((n) =>
    loadProfile(n).registers.map((r) => r.type),
  );
  assert.ok(types.includes('int16'));
  assert.ok(types.some((t) => t === 'uint32' || t === 'int32' || t === 'float32'));
});

test('loadProfile: unknown name lists the available profiles; path tricks are refused', () => {
  const message = errorOf(() => loadProfile('no-such-device'));
  assert.match(message, /"no-such-device" not found/);
  assert.match(message, /sim-pump-v1/);
  assert.match(message, /sim-ventilator-v1/);
  assert.match(
    errorOf(() => loadProfile('../package')),
    /not a plain file name/,
  );
});

test('parseProfile accepts a valid profile', () => {
  const profile = parseProfile(validProfile());
  assert.is(profile.registers.length, 2);
});

test('bad profile: unknown parameter names the field', () => {
  const data = validProfile();
  data.registers[0].parameter = 'MDC_NOT_A_THING';
  const message = errorOf(() => parseProfile(data, 'bad.json'));
  assert.match(message, /^bad\.json is invalid/);
  assert.match(message, /registers\.0\.parameter: unknown parameter MDC_NOT_A_THING/);
});

test('bad profile: wrong unit names the field and the expected UCUM', () => {
  const data = validProfile();
  data.registers[1].unit = 'L';
  const message = errorOf(() => parseProfile(data));
  assert.match(message, /registers\.1\.unit: unit "L" does not match MDC_VOL_FLUID_DELIV/);
  assert.match(message, /"mL"/);
});

test('bad profile: overlapping addresses (a 32-bit value over the next register, alarm word)', () => {
  const data = validProfile();
  data.registers[0].address = 2; // uint32 "infused" occupies 1 and 2
  const message = errorOf(() => parseProfile(data));
  assert.match(message, /registers\.\d\.address: register "(rate|infused)" overlaps/);

  const alarmClash = validProfile();
  alarmClash.alarms.table = 'holding';
  alarmClash.alarms.address = 1;
  assert.match(
    errorOf(() => parseProfile(alarmClash)),
    /alarms\.address: the alarm word overlaps/,
  );
});

test('bad profile: duplicate alarm bit and bad condition code', () => {
  const data = validProfile();
  data.alarms.bits[1].bit = 0;
  data.alarms.bits[1].condition = 'occlusion';
  const message = errorOf(() => parseProfile(data));
  assert.match(message, /alarms\.bits\.1\.bit: bit 0 twice/);
  assert.match(message, /alarms\.bits\.1\.condition/);
});

test('registerSpan: minimal contiguous reads, split at gaps and per table', () => {
  const profile = parseProfile(validProfile());
  assert.equal(registerSpan(profile), [
    { table: 'holding', start: 0, count: 3 },
    { table: 'input', start: 0, count: 1 },
  ]);
  const gap = validProfile();
  gap.registers[1].address = 5;
  assert.equal(registerSpan(parseProfile(gap)), [
    { table: 'holding', start: 0, count: 1 },
    { table: 'holding', start: 5, count: 2 },
    { table: 'input', start: 0, count: 1 },
  ]);
});

test('decode: uint16 with scale and signed int16', () => {
  assert.is(decodeRegister(reg('uint16', 0.1), [1234], 'big'), 123.4);
  assert.is(decodeRegister(reg('uint16', 0.01), [65535], 'big'), 655.35);
  assert.is(decodeRegister(reg('int16'), [0xfffb], 'big'), -5);
  assert.is(decodeRegister(reg('int16', 0.1), [0x8000], 'big'), -3276.8);
  assert.is(decodeRegister(reg('int16'), [0x7fff], 'big'), 32767);
});

test('decode: 32-bit values in big and little word order', () => {
  // 0x0001E240 = 123456
  assert.is(decodeRegister(reg('uint32', 0.01), [0x0001, 0xe240], 'big'), 1234.56);
  assert.is(decodeRegister(reg('uint32', 0.01), [0xe240, 0x0001], 'little'), 1234.56);
  assert.is(decodeRegister(reg('uint32'), [0xffff, 0xffff], 'big'), 4294967295);
  // 0xFFFE1DC0 = -123456
  assert.is(decodeRegister(reg('int32'), [0xfffe, 0x1dc0], 'big'), -123456);
  assert.is(decodeRegister(reg('int32'), [0x1dc0, 0xfffe], 'little'), -123456);
  // 6.3 as float32 = 0x40C9999A
  assert.is(decodeRegister(reg('float32'), [0x40c9, 0x999a], 'big'), 6.3);
  assert.is(decodeRegister(reg('float32'), [0x999a, 0x40c9], 'little'), 6.3);
  assert.is(decodeRegister(reg('float32'), [0xc0c9, 0x999a], 'big'), -6.3);
});

test('decode: too few words is a clear error', () => {
  assert.match(
    errorOf(() => decodeRegister(reg('uint32'), [1], 'big')),
    /register "r" needs 2 word\(s\)/,
  );
});

test('encode → decode round trip for every type and both word orders', () => {
  const cases: [RegisterDef['type'], number, number][] = [
    ['uint16', 0.1, 125],
    ['int16', 0.1, -12.3],
    ['int16', 1, -32768],
    ['uint32', 0.01, 987654.32],
    ['int32', 0.1, -99999.9],
    ['float32', 1, 6.75],
    ['float32', 0.001, -0.125],
  ];
  for (const order of ['big', 'little'] as const) {
    for (const [type, scale, value] of cases) {
      const r = reg(type, scale);
      const words = encodeRegister(r, value, order);
      assert.is(words.length, type.endsWith('16') ? 1 : 2);
      for (const w of words) assert.ok(w >= 0 && w <= 0xffff, `${type} word ${w} in range`);
      assert.is(decodeRegister(r, words, order), value, `${type} ×${scale} ${order}`);
    }
  }
  assert.equal(encodeRegister(reg('uint32'), 0x12345678, 'big'), [0x1234, 0x5678]);
  assert.equal(encodeRegister(reg('uint32'), 0x12345678, 'little'), [0x5678, 0x1234]);
  assert.match(
    errorOf(() => encodeRegister(reg('int16'), 40000, 'big')),
    /does not fit/,
  );
  assert.match(
    errorOf(() => encodeRegister(reg('uint16'), -1, 'big')),
    /does not fit/,
  );
});

test('decodeAlarmBits returns the set bits definitions', () => {
  const profile: DeviceProfile = parseProfile(validProfile());
  assert.equal(decodeAlarmBits(profile, 0), []);
  assert.equal(
    decodeAlarmBits(profile, 0b1001).map((b) => b.condition),
    ['WG_PUMP_OCCLUSION', 'WG_PUMP_BATTERY_LOW'],
  );
  // Bits without a definition are ignored.
  assert.equal(
    decodeAlarmBits(profile, 0b0110).map((b) => b.condition),
    [],
  );
  const vent = loadProfile('sim-ventilator-v1');
  assert.equal(
    decodeAlarmBits(vent, 1).map((b) => b.message),
    ['High airway pressure'],
  );
});

test.run();
