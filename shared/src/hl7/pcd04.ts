/**
 * IHE PCD-04 (Report Alert, ACM profile) ORU^R40 over HL7 v2.6: building an alarm report and
 * reading one back. Layout after IHE PCD TF-2: the OBR names MDC_EVT_ALARM, then one OBX per
 * alarm facet, grouped by sub-id `<mds>.<vmd>.<chan>.<metric>.<facet>`:
 *   .1 event identification (OBX-3 MDC_EVT_ALARM, OBX-5 the MDC_EVT_* condition; OBX-8 priority
 *      and source), .2 the alarmed parameter (NM value, unit, limits in OBX-7) or the alert source,
 *   .3 event phase, .4 alarm state, .5 inactivation state, .6 priority, .7 alert type.
 */
import { termFor, termForCode } from '../terminology.ts';
import {
  encodeHl7,
  type Hl7FieldInput,
  type Hl7Message,
  Hl7ParseError,
  type Hl7Segment,
  type Hl7SegmentInput,
  parseHl7,
  repeat,
} from './message.ts';
import { formatHl7Time, parseHl7Time, pcdHeader } from './pcd01.ts';

export const PCD04_PROFILE = [
  'IHE_PCD_ACM_001',
  'IHE PCD',
  '1.3.6.1.4.1.19376.1.6.4.4',
  'ISO',
] as const;

/** IEEE 11073-10101 partition 3 (events) codes wardgate knows by number. */
export const MDC_EVENT_CODES: Readonly<Record<string, number>> = {
  MDC_EVT_ALARM: 196616,
  MDC_EVT_HI: 196648,
  MDC_EVT_LO: 196670,
  MDC_EVT_APNEA: 199680,
  MDC_EVT_DESAT: 199854,
};
const EVENT_BY_CODE = new Map(Object.entries(MDC_EVENT_CODES).map(([k, v]) => [v, k]));

/** MDC attribute ids (partition 1) of the alarm facets. */
const ATTR = {
  source: [68480, 'MDC_ATTR_ALERT_SOURCE'],
  phase: [68481, 'MDC_ATTR_EVENT_PHASE'],
  state: [68482, 'MDC_ATTR_ALARM_STATE'],
  inactivation: [68483, 'MDC_ATTR_ALARM_INACTIVATION_STATE'],
  priority: [68484, 'MDC_ATTR_ALARM_PRIORITY'],
  type: [68485, 'MDC_ATTR_ALERT_TYPE'],
} as const;

export type AlarmPhase = 'start' | 'continue' | 'present' | 'end';
export const ALARM_PHASES: readonly AlarmPhase[] = ['start', 'continue', 'present', 'end'];
type Priority = 'high' | 'medium' | 'low';
type Kind = 'physiological' | 'technical';

const PRIORITY_CODE: Record<Priority, string> = { high: 'PH', medium: 'PM', low: 'PL' };
const KIND_CODE: Record<Kind, string> = { physiological: 'SP', technical: 'ST' };
const PRIORITY_BY_CODE = new Map(Object.entries(PRIORITY_CODE).map(([k, v]) => [v, k as Priority]));
const KIND_BY_CODE = new Map(Object.entries(KIND_CODE).map(([k, v]) => [v, k as Kind]));

export interface AlarmReport {
  /** Identifies one alarm instance across its start and end messages (OBR-3). */
  alarmId?: string;
  /** MDC event reference id, e.g. MDC_EVT_LO. */
  condition: string;
  /** MDC reference id of the alarmed parameter, e.g. MDC_PULS_OXIM_SAT_O2. */
  parameter?: string;
  /** The parameter's value when the alarm was raised (needs `parameter`). */
  value?: number;
  /** The limit crossed: the high limit for MDC_EVT_HI, else the low limit. */
  limit?: number;
  priority: Priority;
  kind: Kind;
  phase: AlarmPhase;
  /** Human-readable alarm text (OBX-5.9 of the event row). */
  message?: string;
}

export interface AlarmOruOptions {
  controlId: string;
  /** The device id (MSH-3 and OBX-18 of the event row), e.g. bed-1-monitor. */
  sendingApp: string;
  bedId: string;
  /** Epoch ms of the alarm event (MSH-7, OBR-7, OBX-14). */
  time: number;
  alarm: AlarmReport;
  receivingApp?: string;
}

export interface Pcd04Content {
  sendingApp: string;
  bedId: string;
  controlId: string;
  alarm: AlarmReport;
  time: number;
}

const CONDITION = /^MDC_EVT_[A-Z0-9_]+$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)$/;
const RANGE = /^([+-]?\d+(?:\.\d+)?)?-([+-]?\d+(?:\.\d+)?)?$/;

const highSide = (condition: string) => condition === 'MDC_EVT_HI';

export function buildAlarmOru(opts: AlarmOruOptions): string {
  const a = opts.alarm;
  if (!CONDITION.test(a.condition))
    throw new Error(`buildAlarmOru: condition "${a.condition}" is not an MDC_EVT_* reference id`);
  if (!PRIORITY_CODE[a.priority]) throw new Error(`buildAlarmOru: unknown priority ${a.priority}`);
  if (!KIND_CODE[a.kind]) throw new Error(`buildAlarmOru: unknown alarm kind ${a.kind}`);
  if (!ALARM_PHASES.includes(a.phase)) throw new Error(`buildAlarmOru: unknown phase ${a.phase}`);
  const term = a.parameter === undefined ? undefined : termFor(a.parameter);
  if (a.parameter !== undefined && !term)
    throw new Error(`buildAlarmOru: ${a.parameter} is not in the terminology table`);
  if (a.value !== undefined && !term)
    throw new Error('buildAlarmOru: a value needs the parameter it belongs to');
  for (const [name, n] of [
    ['value', a.value],
    ['limit', a.limit],
  ] as const) {
    if (n !== undefined && !Number.isFinite(n))
      throw new Error(`buildAlarmOru: ${name} ${n} is not finite`);
  }

  const time = formatHl7Time(opts.time);
  const root = term ? `1.1.1.${term.mdcCode}` : '1.0.0.0';
  const obx = (facet: number, fields: Record<number, Hl7FieldInput>): Hl7SegmentInput => ({
    name: 'OBX',
    fields: { 1: facet, 4: `${root}.${facet}`, 11: 'F', ...fields },
  });
  const attr = (facet: number, [code, refid]: readonly [number, string], value: string) =>
    obx(facet, { 2: 'ST', 3: [code, refid, 'MDC'], 5: value });
  const abnormal = a.limit === undefined ? undefined : highSide(a.condition) ? 'H' : 'L';
  const flags = [abnormal, PRIORITY_CODE[a.priority], KIND_CODE[a.kind]].filter(
    (f): f is string => f !== undefined,
  );
  const eventCode = MDC_EVENT_CODES[a.condition];

  const rows: Hl7SegmentInput[] = [
    obx(1, {
      2: 'CWE',
      3: [MDC_EVENT_CODES.MDC_EVT_ALARM, 'MDC_EVT_ALARM', 'MDC'],
      5: [eventCode, a.condition, 'MDC', null, null, null, null, null, a.message],
      8: repeat(...flags),
      14: time,
      18: [opts.sendingApp],
    }),
  ];
  if (term && a.value !== undefined) {
    rows.push(
      obx(2, {
        2: 'NM',
        3: [term.mdcCode, term.mdc, 'MDC'],
        5: a.value,
        6: [term.mdcUnitCode, term.mdcUnit, 'MDC'],
        7: formatRange(a),
        8: abnormal,
        14: time,
      }),
    );
  } else if (term) {
    rows.push(
      obx(2, {
        2: 'CWE',
        3: [ATTR.source[0], ATTR.source[1], 'MDC'],
        5: [term.mdcCode, term.mdc, 'MDC'],
        7: formatRange(a),
      }),
    );
  }
  rows.push(
    attr(3, ATTR.phase, a.phase),
    attr(4, ATTR.state, a.phase === 'end' ? 'inactive' : 'active'),
    attr(5, ATTR.inactivation, 'enabled'),
    attr(6, ATTR.priority, PRIORITY_CODE[a.priority]),
    attr(7, ATTR.type, KIND_CODE[a.kind]),
  );
  rows.forEach((row, i) => {
    row.fields[1] = i + 1;
  });

  return encodeHl7([
    ...pcdHeader({ ...opts, time, messageType: ['ORU', 'R40', 'ORU_R40'], profile: PCD04_PROFILE }),
    {
      name: 'OBR',
      fields: {
        1: 1,
        2: [opts.controlId, opts.sendingApp],
        3: a.alarmId === undefined ? undefined : [a.alarmId, opts.sendingApp],
        4: [MDC_EVENT_CODES.MDC_EVT_ALARM, 'MDC_EVT_ALARM', 'MDC'],
        7: time,
      },
    },
    ...rows,
  ]);
}

function formatRange(a: AlarmReport): string | undefined {
  if (a.limit === undefined) return undefined;
  return highSide(a.condition) ? `-${a.limit}` : `${a.limit}-`;
}

/** Reads an ORU^R40 back into its alarm; throws an Hl7ParseError naming what is wrong. */
export function extractAlarm(input: Hl7Message | string): Pcd04Content {
  const msg = typeof input === 'string' ? parseHl7(input) : input;
  function fail(text: string): never {
    throw new Hl7ParseError(`ORU^R40 ${msg.controlId || '(no control id)'}: ${text}`);
  }
  if (msg.type !== 'ORU^R40') fail(`message type ${msg.type} is not ORU^R40`);
  const obxs = msg.segments('OBX');
  const byRefid = (refid: string) => obxs.find((o) => refidOf(msg, o) === refid);

  const event = byRefid('MDC_EVT_ALARM');
  if (!event) fail('no event identification OBX (OBX-3 MDC_EVT_ALARM)');
  const eventRow = event;
  const condition = conditionOf(msg, eventRow);
  if (!condition) fail(`event identification "${msg.get(eventRow, 5)}" is no MDC_EVT_* code`);

  const flags = Array.from({ length: msg.repetitions(eventRow, 8) }, (_, i) =>
    msg.get(eventRow, 8, 1, i + 1),
  );
  const priorityCode =
    attrValue(msg, byRefid(ATTR.priority[1])) || flags.find((f) => PRIORITY_BY_CODE.has(f));
  const priority = priorityCode ? PRIORITY_BY_CODE.get(priorityCode) : undefined;
  if (!priority) fail(`alarm priority "${priorityCode ?? ''}" is not PH, PM or PL`);
  const kindCode = attrValue(msg, byRefid(ATTR.type[1])) || flags.find((f) => KIND_BY_CODE.has(f));
  const kind = kindCode ? KIND_BY_CODE.get(kindCode) : undefined;
  if (!kind) fail(`alert type "${kindCode ?? ''}" is not SP or ST`);
  const phaseText = attrValue(msg, byRefid(ATTR.phase[1]));
  if (!phaseText) fail('no event phase OBX (MDC_ATTR_EVENT_PHASE)');
  if (!ALARM_PHASES.includes(phaseText as AlarmPhase))
    fail(`event phase "${phaseText}" is not one of ${ALARM_PHASES.join(', ')}`);

  const alarm: AlarmReport = {
    condition,
    priority,
    kind,
    phase: phaseText as AlarmPhase,
  };
  const alarmId = msg.get('OBR', 3);
  if (alarmId) alarm.alarmId = alarmId;
  const message = msg.get(eventRow, 5, 9);
  if (message) alarm.message = message;
  readSource(msg, obxs, alarm, fail);

  const timeText = msg.get(eventRow, 14) || msg.get('OBR', 7) || msg.get('MSH', 7);
  if (!timeText) fail('no alarm time (OBX-14, OBR-7 or MSH-7)');
  const pv1 = msg.segment('PV1');
  return {
    sendingApp: msg.get('MSH', 3),
    bedId: msg.get(pv1, 3, 3) || msg.get(pv1, 3, 1),
    controlId: msg.controlId,
    alarm,
    time: parseHl7Time(timeText),
  };
}

/** The alarmed parameter: an NM row with value, unit and limits, or an alert-source row. */
function readSource(
  msg: Hl7Message,
  obxs: Hl7Segment[],
  alarm: AlarmReport,
  fail: (text: string) => never,
): void {
  const numeric = obxs.find((o) => msg.get(o, 2) === 'NM');
  const source = obxs.find((o) => refidOf(msg, o) === ATTR.source[1]);
  const row = numeric ?? source;
  if (!row) return;
  const term = numeric ? termOfCoded(msg, row, 3) : termOfCoded(msg, row, 5);
  if (!term) fail(`alarmed parameter ${codedText(msg, row, numeric ? 3 : 5)} is unknown`);
  alarm.parameter = term.mdc;
  if (numeric) {
    const raw = msg.get(row, 5).trim();
    if (!NUMBER.test(raw)) fail(`${term.mdc} value "${raw}" is not a number`);
    alarm.value = Number(raw);
  }
  const rangeText = msg.get(row, 7).trim();
  if (rangeText === '') return;
  const range = RANGE.exec(rangeText);
  if (!range || (range[1] === undefined && range[2] === undefined))
    fail(`limit range "${rangeText}" is not LOW-HIGH`);
  const [, low, high] = range;
  const limit = highSide(alarm.condition) ? (high ?? low) : (low ?? high);
  alarm.limit = Number(limit);
}

/** OBX-3 reference id (component 2, else a known numeric code). */
function refidOf(msg: Hl7Message, obx: Hl7Segment): string {
  const refid = msg.get(obx, 3, 2);
  if (refid) return refid;
  const code = Number(msg.get(obx, 3, 1));
  if (code === MDC_EVENT_CODES.MDC_EVT_ALARM) return 'MDC_EVT_ALARM';
  const attr = Object.values(ATTR).find(([c]) => c === code);
  return attr ? attr[1] : '';
}

function conditionOf(msg: Hl7Message, obx: Hl7Segment): string | null {
  const refid = msg.get(obx, 5, 2);
  if (CONDITION.test(refid)) return refid;
  const first = msg.get(obx, 5, 1);
  if (CONDITION.test(first)) return first;
  return EVENT_BY_CODE.get(Number(first)) ?? null;
}

function attrValue(msg: Hl7Message, obx: Hl7Segment | undefined): string {
  return obx ? msg.get(obx, 5).trim() : '';
}

function termOfCoded(msg: Hl7Message, obx: Hl7Segment, field: number) {
  const refid = msg.get(obx, field, 2);
  const first = msg.get(obx, field, 1);
  return (
    (refid ? termFor(refid) : undefined) ??
    (first.startsWith('MDC_') ? termFor(first) : undefined) ??
    (/^\d+$/.test(first) ? termForCode(Number(first)) : undefined)
  );
}

function codedText(msg: Hl7Message, obx: Hl7Segment, field: number): string {
  const parts = [1, 2, 3].map((c) => msg.get(obx, field, c));
  while (parts.length && parts[parts.length - 1] === '') parts.pop();
  return `"${parts.join('^')}"`;
}
