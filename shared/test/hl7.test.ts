import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildAck,
  buildOru,
  encodeHl7,
  extractObservations,
  formatHl7Time,
  frameMllp,
  Hl7ParseError,
  MllpDecoder,
  type MllpEvent,
  parametersOf,
  parseHl7,
  parseHl7Time,
  readAck,
  repeat,
  sniffMsh,
  termFor,
} from '../src/index.ts';

const T0 = Date.UTC(2025, 0, 15, 10, 30, 45, 123);

const frames = (events: MllpEvent[]) => events.flatMap((e) => (e.kind === 'frame' ? [e.text] : []));
const errors = (events: MllpEvent[]) =>
  events.flatMap((e) => (e.kind === 'error' ? [e.error.message] : []));

test('parses components, repetitions and several OBX', () => {
  const msg = parseHl7(
    'MSH|^~\\&|mon-1^0011^EUI-64||GW||20250115103045||ORU^R01^ORU_R01|c1|P|2.6\r' +
      'PID|||id1^^^H~id2^^^N\r' +
      'OBX|1|NM|147842^MDC_ECG_HEART_RATE^MDC||72\r' +
      'OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97\r',
  );
  assert.is(msg.get('MSH', 1), '|');
  assert.is(msg.get('MSH', 2), '^~\\&');
  assert.is(msg.get('MSH', 3), 'mon-1');
  assert.is(msg.get('MSH', 3, 3), 'EUI-64');
  assert.is(msg.type, 'ORU^R01');
  assert.is(msg.controlId, 'c1');
  assert.is(msg.repetitions('PID', 3), 2);
  assert.is(msg.get('PID', 3, 1, 2), 'id2');
  assert.is(msg.get('PID', 3, 4, 2), 'N');
  const obx = msg.segments('OBX');
  assert.is(obx.length, 2);
  assert.is(msg.get(obx[1], 3, 2), 'MDC_PULS_OXIM_SAT_O2');
  assert.is(msg.get(obx[1], 5), '97');
  assert.is(msg.get(obx[1], 40), '');
  assert.is(msg.get('ZZZ', 1), '');
});

test('accepts \\n and \\r\\n segment ends', () => {
  for (const end of ['\n', '\r\n']) {
    const msg = parseHl7(`MSH|^~\\&|a||||||ADT^A01|x|P|2.6${end}PID|1${end}`);
    assert.is(msg.segments().length, 2);
    assert.is(msg.get('PID', 1), '1');
  }
});

test('escape sequences round-trip through encode and parse', () => {
  const tricky = 'a|b^c&d~e\\f';
  const text = encodeHl7([
    { name: 'MSH', fields: { 9: ['ADT', 'A01'], 10: 'c1', 12: '2.6' } },
    { name: 'NTE', fields: { 3: tricky, 4: ['x^y', ['s&1', 's2']] } },
  ]);
  assert.ok(text.includes('a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f'));
  const msg = parseHl7(text);
  assert.is(msg.get('NTE', 3), tricky);
  assert.is(msg.get('NTE', 4, 1), 'x^y');
  assert.is(msg.get('NTE', 4, 2, 1, 1), 's&1');
  assert.is(msg.get('NTE', 4, 2, 1, 2), 's2');
});

test('decodes hex, line-break and highlighting escapes', () => {
  const msg = parseHl7(
    'MSH|^~\\&|a||||||ADT^A01|x|P|2.6\rNTE|1||l1\\.br\\l2 \\XC3A9\\ \\H\\bold\\N\\ \\Z99\\\r',
  );
  assert.is(msg.get('NTE', 3), 'l1\nl2 é bold \\Z99\\');
});

test('repetitions encode with repeat()', () => {
  const text = encodeHl7([
    { name: 'MSH', fields: { 9: ['ADT', 'A01'], 10: 'c', 12: '2.6' } },
    { name: 'PID', fields: { 3: repeat(['id1', null, null, 'H'], 'id2') } },
  ]);
  assert.ok(text.includes('PID|||id1^^^H~id2\r'));
  const msg = parseHl7(text);
  assert.is(msg.repetitions('PID', 3), 2);
  assert.is(msg.get('PID', 3, 1, 2), 'id2');
});

test('custom separators from MSH-1/MSH-2', () => {
  const msg = parseHl7('MSH#$*/%#mon-9$x#\rOBX#1#NM#147842$MDC_ECG_HEART_RATE$MDC##7/F/2*8#x%y\r');
  assert.is(msg.separators.field, '#');
  assert.is(msg.separators.component, '$');
  assert.is(msg.separators.repetition, '*');
  assert.is(msg.separators.escape, '/');
  assert.is(msg.separators.subcomponent, '%');
  assert.is(msg.get('MSH', 3), 'mon-9');
  assert.is(msg.get('OBX', 3, 2), 'MDC_ECG_HEART_RATE');
  assert.is(msg.get('OBX', 5), '7#2');
  assert.is(msg.get('OBX', 5, 1, 2), '8');
  assert.is(msg.get('OBX', 6, 1, 1, 2), 'y');
});

test('bad input throws Hl7ParseError with a specific message', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['  \r\n ', /empty/],
    ['PID|1\r', /start with an MSH/],
    ['MSH|^~\r', /4 encoding characters/],
    ['MSH', /field separator/],
    ['MSH|^^\\&|a\r', /distinct/],
    ['MSH|^~\\&|a\rxx|1\r', /segment 2 has no valid/],
  ];
  for (const [input, message] of cases) {
    try {
      parseHl7(input);
      assert.unreachable(`parsed ${JSON.stringify(input)}`);
    } catch (error) {
      assert.instance(error, Hl7ParseError);
      assert.match((error as Error).message, message);
    }
  }
});

test('sniffMsh reads the control id of an unparsable message', () => {
  assert.equal(sniffMsh('MSH|^~|mon-1||||||ORU^R01|c77|P'), {
    controlId: 'c77',
    sendingApp: 'mon-1',
  });
  assert.is(sniffMsh('garbage'), null);
});

test('HL7 times: format with ms and offset, parse with offsets and precision', () => {
  assert.is(formatHl7Time(T0), '20250115103045.123+0000');
  assert.is(formatHl7Time(T0, 60), '20250115113045.123+0100');
  assert.is(parseHl7Time('20250115103045.123+0000'), T0);
  assert.is(parseHl7Time('20250115113045.123+0100'), T0);
  assert.is(parseHl7Time('20250115053045.123-0500'), T0);
  assert.is(parseHl7Time('202501151030'), Date.UTC(2025, 0, 15, 10, 30));
  assert.is(parseHl7Time('2025'), Date.UTC(2025, 0, 1));
  assert.throws(() => parseHl7Time('20251315'), /valid calendar/);
  assert.throws(() => parseHl7Time('yesterday'), /not an HL7 date/);
});

test('MLLP: one frame split across three chunks', () => {
  const wire = frameMllp('MSH|^~\\&|a\rPID|1\r');
  const d = new MllpDecoder();
  assert.equal(d.push(wire.subarray(0, 5)), []);
  assert.equal(d.push(wire.subarray(5, wire.length - 1)), [
    { kind: 'frame', text: 'MSH|^~\\&|a\rPID|1\r' },
  ]);
  assert.equal(d.push(wire.subarray(wire.length - 1)), []);
  assert.is(d.pendingBytes, 0);
});

test('MLLP: end block split between chunks and UTF-8 text', () => {
  const wire = frameMllp('MSH|é');
  const d = new MllpDecoder();
  assert.equal(d.push(wire.subarray(0, 3)), []);
  assert.equal(frames(d.push(wire.subarray(3))), ['MSH|é']);
});

test('MLLP: three frames in one chunk', () => {
  const d = new MllpDecoder();
  const events = d.push(Buffer.concat([frameMllp('one'), frameMllp('two'), frameMllp('three')]));
  assert.equal(frames(events), ['one', 'two', 'three']);
  assert.equal(errors(events), []);
});

test('MLLP: garbage before a frame is reported and skipped', () => {
  const d = new MllpDecoder();
  const events = d.push(Buffer.concat([Buffer.from('junk!'), frameMllp('good')]));
  assert.equal(errors(events), ['5 bytes outside an MLLP frame skipped']);
  assert.equal(frames(events), ['good']);
});

test('MLLP: over-long frame is dropped and decoding resyncs', () => {
  const d = new MllpDecoder({ maxFrameBytes: 10 });
  const long = frameMllp('x'.repeat(25));
  const events = [
    ...d.push(long.subarray(0, 8)),
    ...d.push(long.subarray(8)),
    ...d.push(frameMllp('ok')),
  ];
  assert.equal(errors(events), ['MLLP frame longer than 10 bytes; dropped up to its end block']);
  assert.equal(frames(events), ['ok']);
});

test('MLLP: a start block inside a frame restarts it', () => {
  const d = new MllpDecoder();
  const events = d.push(
    Buffer.concat([Buffer.from([0x0b]), Buffer.from('lost'), frameMllp('next')]),
  );
  assert.match(errors(events)[0], /interrupted/);
  assert.equal(frames(events), ['next']);
});

const monitorTerms = parametersOf('monitor');
const valueFor = (mdc: string, i: number) => (mdc === 'MDC_TEMP_BODY' ? 37.2 : 60 + i);

test('buildOru → extractObservations round-trips all nine monitor parameters', () => {
  assert.is(monitorTerms.length, 9);
  const text = buildOru({
    controlId: 'c42',
    sendingApp: 'bed-1-monitor',
    bedId: 'bed-1',
    time: T0,
    observations: monitorTerms.map((t, i) => ({
      parameter: t.mdc,
      value: valueFor(t.mdc, i),
      time: T0 - i,
    })),
  });
  const msg = parseHl7(text);
  assert.is(msg.type, 'ORU^R01');
  assert.is(msg.get('MSH', 9, 3), 'ORU_R01');
  assert.is(msg.get('MSH', 12), '2.6');
  assert.is(msg.get('MSH', 21), 'IHE_PCD_001');
  assert.is(msg.get('PV1', 3, 3), 'bed-1');
  assert.is(msg.get('OBR', 4, 2), 'MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS');
  assert.is(msg.get('OBR', 7), '20250115103045.123+0000');
  const hr = msg.segments('OBX')[0];
  assert.is(msg.get(hr, 2), 'NM');
  assert.is(msg.get(hr, 3), String(termFor('MDC_ECG_HEART_RATE')?.mdcCode));
  assert.is(msg.get(hr, 3, 3), 'MDC');
  assert.is(msg.get(hr, 6, 2), 'MDC_DIM_BEAT_PER_MIN');
  assert.is(msg.get(hr, 11), 'R');
  assert.is(msg.get(hr, 14), '20250115103045.123+0000');
  assert.is(msg.get(hr, 18), 'bed-1-monitor');

  const out = extractObservations(msg);
  assert.equal(out.problems, []);
  assert.is(out.sendingApp, 'bed-1-monitor');
  assert.is(out.bedId, 'bed-1');
  assert.is(out.controlId, 'c42');
  assert.is(out.equipmentId, 'bed-1-monitor');
  assert.equal(
    out.observations,
    monitorTerms.map((t, i) => ({
      parameter: t.mdc,
      mdcCode: t.mdcCode,
      value: valueFor(t.mdc, i),
      unit: t.ucum,
      time: T0 - i,
    })),
  );
  assert.equal(
    out.observations.map((o) => o.unit),
    ['/min', '%', '/min', '/min', 'mm[Hg]', 'mm[Hg]', 'mm[Hg]', 'Cel', 'mm[Hg]'],
  );
});

const HEADER =
  'MSH|^~\\&|mon-7||||20250115103045+0000||ORU^R01^ORU_R01|c9|P|2.6\rPV1||I|ICU^^bed-7\r' +
  'OBR|1|||x|||20250115103045+0000\r';

test('each bad OBX becomes a problem and the good ones are kept', () => {
  const hr = termFor('MDC_ECG_HEART_RATE')!;
  const out = extractObservations(
    `${HEADER}OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X\r` +
      `OBX|2|NM|99999^MDC_NOT_A_THING^MDC||1|${hr.mdcUnitCode}^${hr.mdcUnit}^MDC|||||R\r` +
      `OBX|3|NM|${hr.mdcCode}^^MDC||80|${hr.mdcUnitCode}^^MDC|||||R\r` +
      'OBX|4|NM|^MDC_TEMP_BODY^MDC||98.6|[degF]^[degF]^UCUM|||||R\r' +
      'OBX|5|NM|MDC_RESP_RATE||fast|/min^^UCUM|||||R\r' +
      'OBX|6|ST|MDC_RESP_RATE||x|/min^^UCUM|||||R\r' +
      'OBX|7|NM|MDC_PULS_OXIM_SAT_O2||97|262688^MDC_DIM_PERCENT^MDC|||||R|||bad-time\r' +
      'OBX|8|NM|MDC_RESP_RATE||14|/min^/min^UCUM|||||R|||20250115103046+0100\r',
  );
  assert.equal(out.observations, [
    {
      parameter: 'MDC_ECG_HEART_RATE',
      mdcCode: hr.mdcCode,
      value: 80,
      unit: '/min',
      time: Date.UTC(2025, 0, 15, 10, 30, 45),
    },
    {
      parameter: 'MDC_RESP_RATE',
      mdcCode: termFor('MDC_RESP_RATE')!.mdcCode,
      value: 14,
      unit: '/min',
      time: Date.UTC(2025, 0, 15, 9, 30, 46),
    },
  ]);
  assert.is(out.bedId, 'bed-7');
  assert.is(out.problems.length, 5);
  assert.match(out.problems[0], /^OBX 2: unknown observation code "99999\^MDC_NOT_A_THING\^MDC"/);
  assert.match(out.problems[1], /^OBX 4: MDC_TEMP_BODY: unit .* is \[degF\], expected Cel/);
  assert.match(out.problems[2], /^OBX 5: MDC_RESP_RATE: value "fast" is not a number/);
  assert.match(out.problems[3], /^OBX 6: .*value type "ST"/);
  assert.match(out.problems[4], /^OBX 7: MDC_PULS_OXIM_SAT_O2: "bad-time" is not an HL7 date/);
});

test('a unit of the wrong dimension is rejected', () => {
  const out = extractObservations(
    `${HEADER}OBX|1|NM|MDC_ECG_HEART_RATE||80|262688^MDC_DIM_PERCENT^MDC|||||R\r`,
  );
  assert.equal(out.observations, []);
  assert.match(out.problems[0], /unit "262688\^MDC_DIM_PERCENT\^MDC" is %, expected \/min/);
  const unknown = extractObservations(`${HEADER}OBX|1|NM|MDC_ECG_HEART_RATE||80|bpm^^L|||||R\r`);
  assert.equal(unknown.problems, ['OBX 1: MDC_ECG_HEART_RATE: unknown unit "bpm^^L"']);
  const wrongSystem = extractObservations(
    `${HEADER}OBX|1|NM|8867-4^Heart rate^LN||80|/min^^UCUM\r`,
  );
  assert.match(wrongSystem.problems[0], /unknown observation code "8867-4\^Heart rate\^LN"/);
});

test('buildAck answers with MSA-2 = original control id, ERR for AE/AR', () => {
  const original = parseHl7(
    buildOru({ controlId: 'c100', sendingApp: 'mon-1', bedId: 'b', time: T0, observations: [] }),
  );
  const aa = parseHl7(buildAck(original, 'AA', undefined, { time: T0 }));
  assert.is(aa.type, 'ACK^R01');
  assert.is(aa.get('MSH', 5), 'mon-1');
  assert.is(aa.get('MSH', 7), '20250115103045.123+0000');
  assert.is(aa.get('MSA', 1), 'AA');
  assert.is(aa.get('MSA', 2), 'c100');
  assert.is(aa.segment('ERR'), undefined);

  const ae = parseHl7(buildAck(original, 'AE', 'bad | unit', { errorCode: 103 }));
  assert.is(ae.get('MSA', 1), 'AE');
  assert.is(ae.get('ERR', 3), '103');
  assert.is(ae.get('ERR', 3, 3), 'HL70357');
  assert.is(ae.get('ERR', 4), 'E');
  assert.equal(readAck(ae), { code: 'AE', controlId: 'c100', text: 'bad | unit' });

  const ar = readAck(buildAck({ controlId: 'raw1', trigger: 'R40' }, 'AR', 'unparsable'));
  assert.equal(ar, { code: 'AR', controlId: 'raw1', text: 'unparsable' });
});

test.run();
