/**
 * IHE PCD-01 (Communicate PCD Data) ORU^R01 over HL7 v2.6: building a monitor's observation
 * message, reading one back into wardgate readings, and the ACK that answers it.
 */
import { PARAMETERS, type ParameterTerm, termFor, termForCode } from '../terminology.ts';
import {
  encodeHl7,
  type Hl7FieldInput,
  Hl7Message,
  Hl7ParseError,
  type Hl7Segment,
  type Hl7SegmentInput,
  parseHl7,
} from './message.ts';

export const PCD01_PROFILE = [
  'IHE_PCD_001',
  'IHE PCD',
  '1.3.6.1.4.1.19376.1.6.1.1.1',
  'ISO',
] as const;
/** MDS of a multi-parameter physiological monitor, the device the whole ORU reports for. */
const MONITOR_MDS = ['69965', 'MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS', 'MDC'] as const;

export interface OruObservationInput {
  /** MDC reference id, e.g. MDC_ECG_HEART_RATE. */
  parameter: string;
  value: number;
  /** Epoch ms; defaults to the message time. */
  time?: number;
}

export interface OruOptions {
  controlId: string;
  /** The device id (MSH-3 and OBX-18), e.g. bed-1-monitor. */
  sendingApp: string;
  bedId: string;
  /** Epoch ms of the message and the observation request (MSH-7, OBR-7). */
  time: number;
  observations: OruObservationInput[];
  receivingApp?: string;
}

/**
 * MSH, PID and PV1 of an IHE PCD device message: wardgate reports per bed, not per patient, so
 * the patient identity stays empty and the bed goes in PV1-3.
 */
export function pcdHeader(opts: {
  sendingApp: string;
  receivingApp?: string;
  /** HL7 DTM. */
  time: string;
  controlId: string;
  bedId: string;
  messageType: string[];
  profile: readonly string[];
}): Hl7SegmentInput[] {
  return [
    {
      name: 'MSH',
      fields: {
        3: [opts.sendingApp],
        5: opts.receivingApp ? [opts.receivingApp] : undefined,
        7: opts.time,
        9: opts.messageType,
        10: opts.controlId,
        11: 'P',
        12: '2.6',
        15: 'AL',
        16: 'NE',
        18: 'UNICODE UTF-8',
        21: [...opts.profile],
      },
    },
    { name: 'PID', fields: { 1: 1 } },
    { name: 'PV1', fields: { 1: 1, 2: 'I', 3: [null, null, opts.bedId] } },
  ];
}

/**
 * A number as HL7 NM: optional sign, digits, optional decimal point — never exponent notation,
 * which JavaScript uses for very small or large values and HL7 receivers refuse. Up to 10
 * decimals are kept (far beyond any device's resolution).
 */
export function formatNm(value: number): string {
  const plain = String(value);
  if (!/e/i.test(plain)) return plain;
  const fixed = value.toFixed(10).replace(/\.?0+$/, '');
  return fixed === '-0' ? '0' : fixed;
}

export function buildOru(opts: OruOptions): string {
  const time = formatHl7Time(opts.time);
  const segments: Hl7SegmentInput[] = [
    ...pcdHeader({ ...opts, time, messageType: ['ORU', 'R01', 'ORU_R01'], profile: PCD01_PROFILE }),
    {
      name: 'OBR',
      fields: {
        1: 1,
        2: [opts.controlId, opts.sendingApp],
        3: [opts.controlId, opts.sendingApp],
        4: [...MONITOR_MDS],
        7: time,
      },
    },
    ...opts.observations.map((o, i) => obxSegment(o, i + 1, opts)),
  ];
  return encodeHl7(segments);
}

function obxSegment(o: OruObservationInput, setId: number, opts: OruOptions): Hl7SegmentInput {
  const term = termFor(o.parameter);
  if (!term) throw new Error(`buildOru: ${o.parameter} is not in the terminology table`);
  if (!Number.isFinite(o.value))
    throw new Error(`buildOru: ${o.parameter} value ${o.value} is not finite`);
  const fields: Record<number, Hl7FieldInput> = {
    1: setId,
    2: 'NM',
    3: [term.mdcCode, term.mdc, 'MDC'],
    4: `1.1.1.${setId}`,
    5: formatNm(o.value),
    6: [term.mdcUnitCode, term.mdcUnit, 'MDC'],
    11: 'R',
    14: formatHl7Time(o.time ?? opts.time),
    18: [opts.sendingApp],
  };
  return { name: 'OBX', fields };
}

export interface Pcd01Observation {
  parameter: string;
  mdcCode: number;
  value: number;
  /** UCUM, from the terminology table. */
  unit: string;
  time: number;
}

export interface Pcd01Content {
  sendingApp: string;
  bedId: string;
  controlId: string;
  /** First OBX-18 equipment instance identifier, '' when none. */
  equipmentId: string;
  observations: Pcd01Observation[];
  /** One line per rejected OBX (or message-level issue); the good OBX are still returned. */
  problems: string[];
}

export function extractObservations(input: Hl7Message | string): Pcd01Content {
  const msg = typeof input === 'string' ? parseHl7(input) : input;
  const problems: string[] = [];
  if (msg.type !== 'ORU^R01') problems.push(`message type ${msg.type} is not ORU^R01`);
  // PCD-01 reports carry at least one OBR with its OBX rows; without them the message is cut off.
  if (!msg.segment('OBR')) problems.push('no OBR segment (observation request)');
  if (msg.segments('OBX').length === 0) problems.push('no OBX segment (no observations)');
  const pv1 = msg.segment('PV1');
  const fallbackTime = msg.get('OBR', 7) || msg.get('MSH', 7);
  const observations: Pcd01Observation[] = [];
  let equipmentId = '';
  msg.segments('OBX').forEach((obx, index) => {
    equipmentId ||= msg.get(obx, 18);
    const result = readObx(msg, obx, fallbackTime);
    if (result === null) return;
    if (typeof result === 'string') problems.push(`OBX ${index + 1}: ${result}`);
    else observations.push(result);
  });
  return {
    sendingApp: msg.get('MSH', 3),
    bedId: msg.get(pv1, 3, 3) || msg.get(pv1, 3, 1),
    controlId: msg.controlId,
    equipmentId,
    observations,
    problems,
  };
}

/** An observation, a problem text, or null for a value-less device-hierarchy row. */
function readObx(
  msg: Hl7Message,
  obx: Hl7Segment,
  fallbackTime: string,
): Pcd01Observation | string | null {
  const valueType = msg.get(obx, 2);
  const rawValue = msg.get(obx, 5);
  if (valueType === '' && rawValue === '') return null;
  const code = codedText(msg, obx, 3);
  if (valueType !== 'NM') return `${code}: value type "${valueType}" is not supported (NM only)`;
  const term = termOf(msg, obx);
  if (!term) return `unknown observation code ${code}`;
  const unitProblem = checkUnit(msg, obx, term);
  if (unitProblem) return `${term.mdc}: ${unitProblem}`;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(rawValue.trim())) {
    return `${term.mdc}: value "${rawValue}" is not a number`;
  }
  const status = msg.get(obx, 11);
  if (status === 'X' || status === 'D' || status === 'W') {
    return `${term.mdc}: result status ${status} carries no valid value`;
  }
  const timeText = msg.get(obx, 14) || fallbackTime;
  if (!timeText) return `${term.mdc}: no observation time (OBX-14, OBR-7 or MSH-7)`;
  let time: number;
  try {
    time = parseHl7Time(timeText);
  } catch (error) {
    return `${term.mdc}: ${(error as Error).message}`;
  }
  return {
    parameter: term.mdc,
    mdcCode: term.mdcCode,
    value: Number(rawValue),
    unit: term.ucum,
    time,
  };
}

function codedText(msg: Hl7Message, seg: Hl7Segment, field: number): string {
  const parts = [1, 2, 3].map((c) => msg.get(seg, field, c));
  while (parts.length && parts[parts.length - 1] === '') parts.pop();
  return `"${parts.join('^')}"`;
}

/** OBX-3 by reference id (component 2, or 1) first, else by numeric code (component 1). */
function termOf(msg: Hl7Message, obx: Hl7Segment): ParameterTerm | undefined {
  const system = msg.get(obx, 3, 3);
  if (system !== '' && system !== 'MDC') return undefined;
  const first = msg.get(obx, 3, 1);
  const refid = msg.get(obx, 3, 2) || (first.startsWith('MDC_') ? first : '');
  const byRefid = refid ? termFor(refid) : undefined;
  if (byRefid) return byRefid;
  return /^\d+$/.test(first) ? termForCode(Number(first)) : undefined;
}

const UCUM_BY_MDC_UNIT = new Map<string, string>();
for (const p of PARAMETERS) {
  UCUM_BY_MDC_UNIT.set(p.mdcUnit, p.ucum);
  UCUM_BY_MDC_UNIT.set(String(p.mdcUnitCode), p.ucum);
}

/** OBX-6 must name the term's unit (MDC code, MDC refid or UCUM); no conversions are made. */
function checkUnit(msg: Hl7Message, obx: Hl7Segment, term: ParameterTerm): string | null {
  const first = msg.get(obx, 6, 1);
  const second = msg.get(obx, 6, 2);
  const system = msg.get(obx, 6, 3);
  if (first === '' && second === '') return `unit missing (expected ${term.mdcUnit})`;
  let ucum: string | undefined;
  if (system === 'UCUM') ucum = first;
  else if (system === '' || system === 'MDC') {
    ucum = UCUM_BY_MDC_UNIT.get(second) ?? UCUM_BY_MDC_UNIT.get(first);
  }
  if (ucum === undefined) return `unknown unit ${codedText(msg, obx, 6)}`;
  if (ucum !== term.ucum) {
    return `unit ${codedText(msg, obx, 6)} is ${ucum}, expected ${term.ucum}`;
  }
  return null;
}

export type AckCode = 'AA' | 'AE' | 'AR';

/** What an ACK needs of the message it answers; taken from a parsed message or sniffed raw. */
export interface AckTarget {
  controlId: string;
  sendingApp?: string;
  sendingFacility?: string;
  /** Trigger event of the original (MSH-9.2), e.g. R01. */
  trigger?: string;
}

export interface AckOptions {
  /** MSH-3 of the ACK. */
  sendingApp?: string;
  /** MSH-10 of the ACK; defaults to the original control id prefixed with "A". */
  controlId?: string;
  time?: number;
  /** HL7 table 0357 error code for the ERR segment (AE/AR), e.g. 200 unsupported message type. */
  errorCode?: number;
}

const ERROR_TEXT: Record<number, string> = {
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  204: 'Unknown key identifier',
  207: 'Application internal error',
};

export function buildAck(
  original: Hl7Message | AckTarget,
  code: AckCode,
  text?: string,
  options: AckOptions = {},
): string {
  const target: AckTarget =
    original instanceof Hl7Message
      ? {
          controlId: original.controlId,
          sendingApp: original.get('MSH', 3),
          sendingFacility: original.get('MSH', 4),
          trigger: original.get('MSH', 9, 2),
        }
      : original;
  const trigger = target.trigger || 'R01';
  const segments: Hl7SegmentInput[] = [
    {
      name: 'MSH',
      fields: {
        3: [options.sendingApp ?? 'WARDGATE'],
        5: [target.sendingApp],
        6: [target.sendingFacility],
        7: formatHl7Time(options.time ?? Date.now()),
        9: ['ACK', trigger, 'ACK'],
        10: options.controlId ?? `A${target.controlId}`.slice(0, 199),
        11: 'P',
        12: '2.6',
        15: 'NE',
        16: 'NE',
        21: [...PCD01_PROFILE],
      },
    },
    { name: 'MSA', fields: { 1: code, 2: target.controlId, 3: text?.slice(0, 80) } },
  ];
  if (code !== 'AA') {
    const errorCode = options.errorCode ?? 207;
    segments.push({
      name: 'ERR',
      fields: {
        3: [errorCode, ERROR_TEXT[errorCode] ?? '', 'HL70357'],
        4: 'E',
        8: text,
      },
    });
  }
  return encodeHl7(segments);
}

/** MSA-1 and MSA-2 of an ACK, with the error text (ERR-8, else MSA-3). */
export function readAck(input: Hl7Message | string): {
  code: string;
  controlId: string;
  text: string;
} {
  const msg = typeof input === 'string' ? parseHl7(input) : input;
  const msa = msg.segment('MSA');
  if (!msa) throw new Hl7ParseError(`${msg.type} has no MSA segment`);
  return {
    code: msg.get(msa, 1),
    controlId: msg.get(msa, 2),
    text: msg.get('ERR', 8) || msg.get(msa, 3),
  };
}

const DTM = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$/;

/**
 * HL7 DTM (YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]) to epoch ms. A time without an offset
 * is taken as UTC: wardgate devices are configured to send UTC.
 */
export function parseHl7Time(text: string): number {
  const m = DTM.exec(text.trim());
  if (!m) throw new Hl7ParseError(`"${text}" is not an HL7 date/time (YYYYMMDDHHMMSS.SSS+ZZZZ)`);
  const [, y, mo = '01', d = '01', h = '00', mi = '00', s = '00', frac = '', tz] = m;
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(utc);
  if (
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d) ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    throw new Hl7ParseError(`"${text}" is not a valid calendar date/time`);
  }
  if (!tz) return utc;
  const sign = tz[0] === '-' ? -1 : 1;
  const hours = Number(tz.slice(1, 3));
  const minutes = Number(tz.slice(3, 5));
  if (hours > 14 || minutes > 59) throw new Hl7ParseError(`"${text}" has an invalid UTC offset`);
  return utc - sign * (hours * 60 + minutes) * 60_000;
}

/** Epoch ms to HL7 DTM with milliseconds and offset, e.g. 20250101120000.000+0000. */
export function formatHl7Time(epochMs: number, offsetMinutes = 0): string {
  if (!Number.isFinite(epochMs)) throw new RangeError(`cannot format ${epochMs} as an HL7 time`);
  const d = new Date(Math.round(epochMs) + offsetMinutes * 60_000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return (
    `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}` +
    `${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}` +
    `${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}`
  );
}
