import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type AlarmOruOptions,
  type AlarmReport,
  buildAlarmOru,
  extractAlarm,
  Hl7ParseError,
  parseHl7,
  termFor,
} from '../src/index.ts';

const TIME = Date.UTC(2025, 2, 14, 9, 30, 15, 250);

const desat: AlarmReport = {
  alarmId: 'bed-1-monitor-alarm-7',
  condition: 'MDC_EVT_LO',
  parameter: 'MDC_PULS_OXIM_SAT_O2',
  value: 84,
  limit: 90,
  priority: 'high',
  kind: 'physiological',
  phase: 'start',
  message: 'SpO2 low',
};

const options = (alarm: AlarmReport, controlId = 'R40-1'): AlarmOruOptions => ({
  controlId,
  sendingApp: 'bed-1-monitor',
  bedId: 'bed-1',
  time: TIME,
  alarm,
});

/** One segment line of a message, by its position among segments of that name. */
const line = (text: string, name: string, n = 1) =>
  text.split('\r').filter((l) => l.startsWith(`${name}|`))[n - 1] ?? '';

test('an ORU^R40 carries the IHE ACM layout: header, event, value, phase, state, priority, type', () => {
  const text = buildAlarmOru(options(desat));
  const msg = parseHl7(text);
  assert.is(msg.type, 'ORU^R40');
  assert.is(msg.get('MSH', 9, 3), 'ORU_R40');
  assert.is(msg.get('MSH', 12), '2.6');
  assert.is(msg.get('MSH', 21), 'IHE_PCD_ACM_001');
  assert.is(msg.get('OBR', 4, 2), 'MDC_EVT_ALARM');
  assert.is(msg.get('OBR', 3), 'bed-1-monitor-alarm-7');
  const spo2 = termFor('MDC_PULS_OXIM_SAT_O2')!;
  const obx = msg.segments('OBX');
  assert.equal(
    obx.map((o) => [msg.get(o, 2), msg.get(o, 3, 2), msg.get(o, 4), msg.get(o, 5)]),
    [
      ['CWE', 'MDC_EVT_ALARM', `1.1.1.${spo2.mdcCode}.1`, '196670'],
      ['NM', 'MDC_PULS_OXIM_SAT_O2', `1.1.1.${spo2.mdcCode}.2`, '84'],
      ['ST', 'MDC_ATTR_EVENT_PHASE', `1.1.1.${spo2.mdcCode}.3`, 'start'],
      ['ST', 'MDC_ATTR_ALARM_STATE', `1.1.1.${spo2.mdcCode}.4`, 'active'],
      ['ST', 'MDC_ATTR_ALARM_INACTIVATION_STATE', `1.1.1.${spo2.mdcCode}.5`, 'enabled'],
      ['ST', 'MDC_ATTR_ALARM_PRIORITY', `1.1.1.${spo2.mdcCode}.6`, 'PH'],
      ['ST', 'MDC_ATTR_ALERT_TYPE', `1.1.1.${spo2.mdcCode}.7`, 'SP'],
    ],
  );
  assert.is(msg.get(obx[0], 5, 2), 'MDC_EVT_LO');
  assert.is(msg.get(obx[0], 5, 9), 'SpO2 low');
  assert.equal(
    [1, 2, 3].map((r) => msg.get(obx[0], 8, 1, r)),
    ['L', 'PH', 'SP'],
  );
  assert.is(msg.get(obx[1], 6, 2), spo2.mdcUnit);
  assert.is(msg.get(obx[1], 7), '90-');
  assert.is(msg.get(obx[0], 18), 'bed-1-monitor');
  assert.match(line(text, 'PV1'), /\^\^bed-1$/);
});

test('round trip: every field of start and end reports comes back', () => {
  for (const alarm of [
    desat,
    { ...desat, phase: 'end' as const, value: 95 },
    {
      condition: 'MDC_EVT_HI',
      parameter: 'MDC_ECG_HEART_RATE',
      value: 151,
      limit: 140,
      priority: 'medium' as const,
      kind: 'physiological' as const,
      phase: 'continue' as const,
    },
    {
      condition: 'MDC_EVT_APNEA',
      priority: 'low' as const,
      kind: 'technical' as const,
      phase: 'present' as const,
    },
    {
      condition: 'MDC_EVT_APNEA',
      parameter: 'MDC_RESP_RATE',
      limit: 5,
      priority: 'high' as const,
      kind: 'physiological' as const,
      phase: 'start' as const,
    },
  ]) {
    const content = extractAlarm(buildAlarmOru(options(alarm, 'RT-1')));
    assert.equal(content, {
      sendingApp: 'bed-1-monitor',
      bedId: 'bed-1',
      controlId: 'RT-1',
      alarm,
      time: TIME,
    });
  }
  const ended = parseHl7(buildAlarmOru(options({ ...desat, phase: 'end' })));
  assert.is(ended.get(ended.segments('OBX')[3], 5), 'inactive');
});

test('a high limit is written as the upper bound and read back', () => {
  const text = buildAlarmOru(
    options({
      condition: 'MDC_EVT_HI',
      parameter: 'MDC_ECG_HEART_RATE',
      value: 152,
      limit: 140,
      priority: 'medium',
      kind: 'physiological',
      phase: 'start',
    }),
  );
  assert.match(line(text, 'OBX', 2), /\|-140\|H\|/);
  assert.match(line(text, 'OBX', 1), /\|H~PM~SP\|/);
  assert.is(extractAlarm(text).alarm.limit, 140);
});

test('codes are read by number as well as by reference id; OBX-8 stands in for missing rows', () => {
  const spo2 = termFor('MDC_PULS_OXIM_SAT_O2')!;
  const text = [
    'MSH|^~\\&|other-monitor||||20250314093015||ORU^R40^ORU_R40|N-1|P|2.6',
    'PV1||I|ICU^^7',
    'OBR|1|N-1||196616^MDC_EVT_ALARM^MDC|||20250314093015',
    'OBX|1|CWE|196616^^MDC|1.0.0.0.1|196670^^MDC|||PM~ST||||F',
    `OBX|2|NM|${spo2.mdcCode}^^MDC|1.0.0.0.2|85|${spo2.mdcUnitCode}^^MDC|88-100|||F`,
    'OBX|3|ST|68481^^MDC|1.0.0.0.3|end||||||F',
    '',
  ].join('\r');
  assert.equal(extractAlarm(text), {
    sendingApp: 'other-monitor',
    bedId: '7',
    controlId: 'N-1',
    alarm: {
      condition: 'MDC_EVT_LO',
      parameter: 'MDC_PULS_OXIM_SAT_O2',
      value: 85,
      limit: 88,
      priority: 'medium',
      kind: 'technical',
      phase: 'end',
    },
    time: Date.UTC(2025, 2, 14, 9, 30, 15),
  });
});

test('malformed reports throw an Hl7ParseError that says what is wrong', () => {
  const good = buildAlarmOru(options(desat, 'BAD-1'));
  const spo2Code = termFor('MDC_PULS_OXIM_SAT_O2')!.mdcCode;
  const cases: [string, string, RegExp][] = [
    ['not an R40', good.replace('ORU^R40^ORU_R40', 'ORU^R01^ORU_R01'), /ORU\^R01 is not ORU\^R40/],
    ['no event row', good.replace(line(good, 'OBX', 1), 'NTE|1'), /no event identification OBX/],
    [
      'no MDC_EVT code',
      good.replace('196670^MDC_EVT_LO^MDC', 'XYZ^^MDC'),
      /"XYZ" is no MDC_EVT_\* code/,
    ],
    ['bad priority', good.replace('|PH||', '|PX||').replace('L~PH~SP', 'L~SP'), /priority "PX"/],
    ['bad type', good.replace('|SP||', '|SQ||').replace('L~PH~SP', 'L~PH'), /alert type "SQ"/],
    ['no phase', good.replace(line(good, 'OBX', 3), 'NTE|2'), /no event phase OBX/],
    ['bad phase', good.replace('|start|', '|begun|'), /event phase "begun" is not one of/],
    ['bad value', good.replace('|84|', '|eighty|'), /value "eighty" is not a number/],
    [
      'unknown parameter',
      good.replace(`|${spo2Code}^MDC_PULS_OXIM_SAT_O2^MDC|`, '|1^MDC_NOPE^MDC|'),
      /alarmed parameter "1\^MDC_NOPE\^MDC" is unknown/,
    ],
    ['bad limit', good.replace('|90-|', '|ninety|'), /limit range "ninety" is not LOW-HIGH/],
  ];
  for (const [what, text, pattern] of cases) {
    assert.not.equal(text, good, `${what}: the case must change the message`);
    try {
      extractAlarm(text);
      assert.unreachable(`${what}: should throw`);
    } catch (error) {
      assert.instance(error, Hl7ParseError, what);
      assert.match((error as Error).message, /^ORU\^R40 BAD-1: /, what);
      assert.match((error as Error).message, pattern, what);
    }
  }
});

test('buildAlarmOru refuses what it cannot encode', () => {
  assert.throws(
    () => buildAlarmOru(options({ ...desat, condition: 'LOW_SPO2' })),
    /"LOW_SPO2" is not an MDC_EVT_\* reference id/,
  );
  assert.throws(
    () => buildAlarmOru(options({ ...desat, parameter: 'MDC_NOPE' })),
    /MDC_NOPE is not in the terminology table/,
  );
  assert.throws(
    () => buildAlarmOru(options({ ...desat, parameter: undefined })),
    /a value needs the parameter/,
  );
  assert.throws(
    () => buildAlarmOru(options({ ...desat, value: Number.NaN })),
    /value NaN is not finite/,
  );
  assert.throws(
    () => buildAlarmOru(options({ ...desat, phase: 'over' as AlarmReport['phase'] })),
    /unknown phase over/,
  );
});

test.run();
