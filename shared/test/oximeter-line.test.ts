import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  formatOximeterLine,
  OXIMETER_EXCEPTIONS,
  OximeterLineSplitter,
  parseOximeterLine,
} from '../src/index.ts';

const TIME = Date.UTC(2026, 10, 25, 14, 3, 7);
const GOOD =
  '11/25/26 14:03:07 SN=0000071251 SPO2=097% BPM=072 PI=03.12% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000000';

const parsed = (line: string, options?: { utcOffsetMinutes?: number }) => {
  const result = parseOximeterLine(line, options);
  if (!result.ok) throw new Error(`expected a parse, got: ${result.error}`);
  return result;
};
const errorOf = (line: string) => {
  const result = parseOximeterLine(line);
  if (result.ok) throw new Error(`expected an error for: ${line}`);
  return result.error;
};

test('formats a line in the Masimo ASCII 1 layout, CR LF ended', () => {
  const line = formatOximeterLine({
    time: TIME,
    serial: 71251,
    spo2: 97,
    pulseRate: 72,
    perfusionIndex: 3.12,
  });
  assert.is(line, `${GOOD}\r\n`);
});

test('format → parse round trip', () => {
  const line = formatOximeterLine({
    time: TIME,
    serial: 'A123',
    spo2: 100,
    pulseRate: 138,
    perfusionIndex: 12.5,
    alarm: 0x0009,
    exceptions: ['lowPerfusion'],
  });
  const p = parsed(line);
  assert.is(p.time, TIME);
  assert.is(p.serial, 'A123');
  assert.is(p.spo2, 100);
  assert.is(p.pulseRate, 138);
  assert.is(p.perfusionIndex, 12.5);
  assert.is(p.alarmBits, 0x0009);
  assert.is(p.exceptionBits, OXIMETER_EXCEPTIONS.lowPerfusion);
  assert.equal(p.exceptions, ['lowPerfusion']);
});

test('parses the documented sample line', () => {
  const p = parsed(`${GOOD}\r\n`);
  assert.is(p.time, TIME);
  assert.is(p.spo2, 97);
  assert.is(p.pulseRate, 72);
  assert.is(p.perfusionIndex, 3.12);
  assert.equal(p.exceptions, []);
});

test('device-local time: utcOffsetMinutes shifts both ways', () => {
  const line = formatOximeterLine({
    time: TIME,
    serial: 1,
    spo2: 97,
    pulseRate: 72,
    perfusionIndex: 1,
    utcOffsetMinutes: 60,
  });
  assert.ok(line.startsWith('11/25/26 15:03:07 '));
  assert.is(parsed(line, { utcOffsetMinutes: 60 }).time, TIME);
  assert.is(parsed(line).time, TIME + 3_600_000);
});

test('--- values are null, and exception bits are named', () => {
  const line = formatOximeterLine({
    time: TIME,
    serial: 1,
    spo2: null,
    pulseRate: null,
    perfusionIndex: null,
    exceptions: OXIMETER_EXCEPTIONS.sensorOff | OXIMETER_EXCEPTIONS.lowSignalIq,
  });
  assert.match(line, 'SPO2=---% BPM=--- PI=--.--%');
  assert.match(line, 'EXC=000220');
  const p = parsed(line);
  assert.is(p.spo2, null);
  assert.is(p.pulseRate, null);
  assert.is(p.perfusionIndex, null);
  assert.is(p.exceptionBits, 0x220);
  assert.equal(p.exceptions, ['sensorOff', 'lowSignalIq']);
  assert.is(parsed(GOOD.replace('PI=03.12%', 'PI=--.-')).perfusionIndex, null);
});

test('unknown KEY=VALUE fields are tolerated, a missing % is accepted', () => {
  const p = parsed(GOOD.replace('SPO2=097%', 'SPO2=097').replace('EXC=', 'SPHB=--.- EXC='));
  assert.is(p.spo2, 97);
});

test('malformed lines give a specific error', () => {
  assert.is(errorOf(GOOD.replace(' BPM=072', '')), 'missing field BPM');
  assert.is(errorOf(GOOD.replace(' EXC=000000', '')), 'missing field EXC');
  assert.is(errorOf(GOOD.replace('SPO2=097%', 'SPO2=9x7%')), "SPO2 value '9x7%' is not a number");
  assert.is(
    errorOf(GOOD.replace('SPO2=097%', 'SPO2=150%')),
    'SPO2 value 150 is out of range 0-100',
  );
  assert.is(errorOf(GOOD.replace('PI=03.12%', 'PI=3..1%')), "PI value '3..1%' is not a number");
  assert.is(
    errorOf(GOOD.replace('ALARM=0000', 'ALARM=00G0')),
    "ALARM value '00G0' is not 4 hex digits",
  );
  assert.is(
    errorOf(GOOD.replace('EXC=000000', 'EXC=0000')),
    "EXC value '0000' is not 6 hex digits",
  );
  assert.is(
    errorOf(GOOD.replace('11/25/26', '11-25-26')),
    "bad date '11-25-26' (expected MM/DD/YY)",
  );
  assert.is(errorOf(GOOD.replace('11/25/26', '02/30/26')), "bad date '02/30/26' (no such day)");
  assert.is(errorOf(GOOD.replace('11/25/26', '13/01/26')), "bad date '13/01/26' (no such day)");
  assert.is(errorOf(GOOD.replace('14:03:07', '24:03:07')), "bad time '24:03:07' (out of range)");
  assert.is(errorOf(GOOD.replace('14:03:07', '14:03')), "bad time '14:03' (expected HH:MM:SS)");
  assert.is(
    errorOf(GOOD.replace('BPM=072', 'BPM 072')),
    "malformed field 'BPM' (expected KEY=VALUE)",
  );
  assert.is(errorOf(''), "bad date '' (expected MM/DD/YY)");
});

const splitter = () => {
  const errors: string[] = [];
  const s = new OximeterLineSplitter({ onError: (e) => errors.push(e.message) });
  return { s, errors };
};

test('splitter: a line split across chunks, several lines in one chunk', () => {
  const { s, errors } = splitter();
  assert.equal(s.push(GOOD.slice(0, 20)), []);
  assert.equal(s.push(Buffer.from(`${GOOD.slice(20)}\r`)), [GOOD]);
  assert.equal(s.push(`\nA\r\nB\r\nC`), ['A', 'B']);
  assert.equal(s.push('\r\n'), ['C']);
  assert.equal(errors, []);
});

test('splitter: CR-only and LF-only endings', () => {
  const { s, errors } = splitter();
  assert.equal(s.push('one\rtwo\rthree\r'), ['one', 'two', 'three']);
  assert.equal(s.push('four\nfive\n\n\nsix\n'), ['four', 'five', 'six']);
  assert.equal(errors, []);
});

test('splitter: garbage bytes around lines are dropped and reported, lines resync', () => {
  const { s, errors } = splitter();
  const garbage = Buffer.from([0x00, 0xff, 0xfe, 0x13]);
  const lines = s.push(
    Buffer.concat([
      garbage,
      Buffer.from(`\r\n${GOOD}\r\n`),
      Buffer.from('half a li'),
      garbage,
      Buffer.from(`ne\r\n${GOOD}\r\n`),
      garbage,
    ]),
  );
  assert.equal(lines, [GOOD, GOOD]);
  assert.is(errors.length, 3);
  assert.match(errors[0], 'dropped garbage byte(s) 0x00 0xFF 0xFE 0x13');
  assert.match(errors[1], 'and the 9 character(s) before them');
  // The trailing garbage corrupts the next line too, which is then dropped up to its end.
  assert.equal(s.push(`tail\r\n${GOOD}\n`), [GOOD]);
  assert.is(errors.length, 3);
});

test('splitter: non-ASCII text counts as garbage', () => {
  const { s, errors } = splitter();
  assert.equal(s.push('SPO2=97°\r\nok\r\n'), ['ok']);
  assert.match(errors[0], '0xC2 0xB0');
});

test('splitter: an over-long line is dropped, then it resynchronises', () => {
  const { s, errors } = splitter();
  assert.equal(s.push('x'.repeat(300)), []);
  assert.equal(s.push('x'.repeat(300)), []);
  assert.equal(errors, ['line longer than 512 characters dropped, resynchronising']);
  assert.equal(s.push(`${'y'.repeat(100)}\r\n${GOOD}\r\n`), [GOOD]);
  assert.equal(s.push(`${'z'.repeat(512)}\n`), ['z'.repeat(512)]);
  assert.is(errors.length, 1);
});

test.run();
