import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEVICE_KINDS,
  type DeviceKind,
  PARAMETERS,
  type ParameterTerm,
  parametersOf,
  termFor,
  termForCode,
} from '../src/index.ts';

const PARTITION_SCADA = 2;
const PARTITION_DIM = 4;
const PARTITION_SCADA_SETTINGS = 258;

/** The parameters each device kind must produce (from the issue), by MDC reference id. */
const REQUIRED: Record<DeviceKind, string[]> = {
  monitor: [
    'MDC_ECG_HEART_RATE',
    'MDC_PULS_OXIM_SAT_O2',
    'MDC_PULS_OXIM_PULS_RATE',
    'MDC_RESP_RATE',
    'MDC_PRESS_BLD_NONINV_SYS',
    'MDC_PRESS_BLD_NONINV_DIA',
    'MDC_PRESS_BLD_NONINV_MEAN',
    'MDC_TEMP_BODY',
    'MDC_AWAY_CO2_ET',
  ],
  ventilator: [
    'MDC_VENT_RESP_RATE_SETTING',
    'MDC_VENT_RESP_RATE',
    'MDC_VOL_AWAY_TIDAL',
    'MDC_PRESS_AWAY_END_EXP_POS',
    'MDC_PRESS_AWAY_INSP_PEAK',
    'MDC_CONC_AWAY_O2_INSP',
    'MDC_VOL_MINUTE_AWAY',
  ],
  pump: ['MDC_FLOW_FLUID_PUMP', 'MDC_VOL_FLUID_TBI', 'MDC_VOL_FLUID_DELIV', 'MDC_PRESS_FLUID_LINE'],
  oximeter: ['MDC_PULS_OXIM_SAT_O2', 'MDC_PULS_OXIM_PULS_RATE', 'MDC_PULS_OXIM_PERF_REL'],
};

const ALLOWED_UCUM = new Set(['/min', '%', 'mm[Hg]', 'cm[H2O]', 'Cel', 'mL', 'L/min', 'mL/h']);

/** LOINC check digit: Luhn-style mod 10 over the digits before the hyphen. */
function loincCheckDigit(body: string): number {
  let sum = 0;
  const digits = [...body].reverse();
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return (10 - (sum % 10)) % 10;
}

function loincValid(code: string): boolean {
  const m = /^(\d{1,7})-(\d)$/.exec(code);
  return m !== null && loincCheckDigit(m[1]) === Number(m[2]);
}

const partitionOf = (code: number) => code >>> 16;
const expectedPartition = (p: ParameterTerm) =>
  p.mdc.endsWith('_SETTING') ? PARTITION_SCADA_SETTINGS : PARTITION_SCADA;

test('LOINC check digit helper accepts known codes and rejects a wrong check digit', () => {
  assert.ok(loincValid('8867-4'));
  assert.ok(loincValid('59408-5'));
  assert.ok(loincValid('2708-6'));
  assert.not.ok(loincValid('8867-5'));
  assert.not.ok(loincValid('99999-9'));
  assert.not.ok(loincValid('8867'));
});

test('every device kind has the parameters the issue lists, and only those', () => {
  for (const kind of DEVICE_KINDS) {
    const have = parametersOf(kind)
      .map((p) => p.mdc)
      .sort();
    assert.equal(have, [...REQUIRED[kind]].sort(), `parameters of ${kind}`);
  }
});

test('MDC reference ids and numeric codes are unique', () => {
  const refids = PARAMETERS.map((p) => p.mdc);
  const codes = PARAMETERS.map((p) => p.mdcCode);
  assert.is(new Set(refids).size, refids.length, 'duplicate MDC refid');
  assert.is(new Set(codes).size, codes.length, 'duplicate MDC code');
});

test('term codes sit in the expected partition (2 SCADA, 258 settings)', () => {
  for (const p of PARAMETERS) {
    assert.ok(p.mdc.startsWith('MDC_'), p.mdc);
    assert.ok(Number.isInteger(p.mdcCode) && p.mdcCode > 0, p.mdc);
    assert.is(partitionOf(p.mdcCode), expectedPartition(p), `${p.mdc} ${p.mdcCode}`);
  }
});

test('the ventilator rate setting and measurement share the term code, not the code', () => {
  const set = termFor('MDC_VENT_RESP_RATE_SETTING')!;
  const measured = termFor('MDC_VENT_RESP_RATE')!;
  assert.is.not(set.mdcCode, measured.mdcCode);
  assert.is(set.mdcCode & 0xffff, measured.mdcCode & 0xffff);
  assert.ok(set.setting);
  assert.not.ok(measured.setting);
});

test('unit codes are partition-4 dimensions and agree with their refid', () => {
  const unitByRefid = new Map<string, number>();
  for (const p of PARAMETERS) {
    assert.ok(p.mdcUnit.startsWith('MDC_DIM_'), p.mdcUnit);
    assert.is(partitionOf(p.mdcUnitCode), PARTITION_DIM, `${p.mdc} ${p.mdcUnit}`);
    const seen = unitByRefid.get(p.mdcUnit);
    if (seen !== undefined) assert.is(p.mdcUnitCode, seen, `${p.mdcUnit} has two codes`);
    unitByRefid.set(p.mdcUnit, p.mdcUnitCode);
  }
  // Spot checks against IEEE 11073-10101 dimension codes (term code in partition 4).
  assert.is(unitByRefid.get('MDC_DIM_BEAT_PER_MIN'), 4 * 65536 + 2720);
  assert.is(unitByRefid.get('MDC_DIM_X_L_PER_MIN'), 4 * 65536 + 3072);
  assert.is(unitByRefid.get('MDC_DIM_MILLI_L_PER_HR'), 4 * 65536 + 3122);
  assert.is(unitByRefid.get('MDC_DIM_MILLI_L'), 4 * 65536 + 1618);
  assert.is(unitByRefid.get('MDC_DIM_CM_H2O'), 4 * 65536 + 3904);
});

test('LOINC codes, when present, pass the mod-10 check digit and carry a display', () => {
  for (const p of PARAMETERS) {
    if (p.loinc === undefined) {
      assert.is(p.loincDisplay, undefined, `${p.mdc} has a display without a code`);
      continue;
    }
    assert.ok(loincValid(p.loinc), `${p.mdc} LOINC ${p.loinc}`);
    assert.ok(p.loincDisplay && p.loincDisplay.length > 0, `${p.mdc} LOINC display`);
  }
  const loincs = PARAMETERS.flatMap((p) => (p.loinc ? [p.loinc] : []));
  assert.is(new Set(loincs).size, loincs.length, 'duplicate LOINC');
});

test('pump parameters have no LOINC (coded with MDC only)', () => {
  for (const p of parametersOf('pump')) assert.is(p.loinc, undefined, p.mdc);
});

test('UCUM units come from the allowed list', () => {
  for (const p of PARAMETERS) assert.ok(ALLOWED_UCUM.has(p.ucum), `${p.mdc} unit ${p.ucum}`);
});

test('termFor and termForCode find every row and return undefined for unknown keys', () => {
  for (const p of PARAMETERS) {
    assert.is(termFor(p.mdc), p);
    assert.is(termForCode(p.mdcCode), p);
  }
  assert.is(termFor('MDC_NOT_A_TERM'), undefined);
  assert.is(termForCode(0), undefined);
  assert.is(termForCode(151795), undefined);
});

test.run();
