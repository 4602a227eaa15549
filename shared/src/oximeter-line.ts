/**
 * Pulse-oximeter serial line, in the style of the Masimo Radical-7 / Rad-97 "ASCII 1" output:
 * one line of printable ASCII per second on RS-232 (9600 8N1), ended by CR LF.
 *
 *   11/25/26 14:03:07 SN=0000071251 SPO2=097% BPM=072 PI=03.12% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000000
 *
 * Fields, separated by one or more spaces:
 *   MM/DD/YY HH:MM:SS  device-local date and time (no zone on the wire; years are 20YY)
 *   SN=      device serial number (digits/letters)
 *   SPO2=    functional oxygen saturation, whole %, 3 digits (`097%`); 0–100
 *   BPM=     pulse rate, /min, 3 digits (`072`); 0–400
 *   PI=      perfusion index, %, 2.2 digits (`03.12%`); 0–100
 *   SPCO=, SPMET=, DESAT=, PIDELTA=  rainbow parameters: written as "no value", ignored when read
 *   ALARM=   4 hex digits, the device's alarm bit field (OXIMETER_ALARMS)
 *   EXC=     6 hex digits, the exception bit field (OXIMETER_EXCEPTIONS)
 * A value made only of dashes (`---`, `--.--`, `--.-`) means "no value" (no sensor, searching,
 * signal too poor); the `%` after a value is optional when reading. Other KEY=VALUE fields are
 * tolerated and ignored, so newer firmware with extra fields still parses.
 */

/** EXC bits used by wardgate (the device's exception field, 6 hex digits). */
export const OXIMETER_EXCEPTIONS = {
  noSensor: 0x000001,
  defectiveSensor: 0x000002,
  lowPerfusion: 0x000004,
  pulseSearch: 0x000008,
  interference: 0x000010,
  sensorOff: 0x000020,
  ambientLight: 0x000040,
  unrecognizedSensor: 0x000080,
  lowSignalIq: 0x000200,
} as const;
export type OximeterException = keyof typeof OXIMETER_EXCEPTIONS;

/** ALARM bits (4 hex digits): the device's own limit and equipment alarms. */
export const OXIMETER_ALARMS = {
  spo2Low: 0x0001,
  spo2High: 0x0002,
  pulseRateLow: 0x0004,
  pulseRateHigh: 0x0008,
  piLow: 0x0010,
  sensorAlarm: 0x0020,
  lowBattery: 0x0040,
  alarmSilenced: 0x0080,
} as const;

export interface OximeterLineValues {
  /** Epoch ms; written as device-local time (UTC + utcOffsetMinutes). */
  time: number;
  serial: string | number;
  spo2: number | null;
  pulseRate: number | null;
  perfusionIndex: number | null;
  /** ALARM bit field. */
  alarm?: number;
  /** EXC bit field, or exception names. */
  exceptions?: number | readonly OximeterException[];
  utcOffsetMinutes?: number;
}

export type ParsedOximeterLine =
  | {
      ok: true;
      time: number;
      serial: string;
      spo2: number | null;
      pulseRate: number | null;
      perfusionIndex: number | null;
      alarmBits: number;
      exceptionBits: number;
      /** Names of the known EXC bits that are set. */
      exceptions: OximeterException[];
    }
  | { ok: false; error: string };

export interface ParseOximeterLineOptions {
  /** Offset of the device clock from UTC; the line's time is read as UTC when absent. */
  utcOffsetMinutes?: number;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export function exceptionBitsOf(exceptions: number | readonly OximeterException[]): number {
  if (typeof exceptions === 'number') return exceptions;
  return exceptions.reduce((bits, name) => bits | OXIMETER_EXCEPTIONS[name], 0);
}

export function exceptionNames(bits: number): OximeterException[] {
  return (Object.keys(OXIMETER_EXCEPTIONS) as OximeterException[]).filter(
    (name) => (bits & OXIMETER_EXCEPTIONS[name]) !== 0,
  );
}

/** One line, CR LF included. */
export function formatOximeterLine(values: OximeterLineValues): string {
  const local = new Date(values.time + (values.utcOffsetMinutes ?? 0) * 60_000);
  const date = `${pad(local.getUTCMonth() + 1, 2)}/${pad(local.getUTCDate(), 2)}/${pad(local.getUTCFullYear() % 100, 2)}`;
  const time = `${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}`;
  const spo2 = values.spo2 === null ? '---' : pad(Math.round(values.spo2), 3);
  const bpm = values.pulseRate === null ? '---' : pad(Math.round(values.pulseRate), 3);
  const pi =
    values.perfusionIndex === null ? '--.--' : values.perfusionIndex.toFixed(2).padStart(5, '0');
  const serial = typeof values.serial === 'number' ? pad(values.serial, 10) : values.serial;
  const alarm = (values.alarm ?? 0).toString(16).toUpperCase().padStart(4, '0');
  const exc = exceptionBitsOf(values.exceptions ?? 0)
    .toString(16)
    .toUpperCase()
    .padStart(6, '0');
  return (
    `${date} ${time} SN=${serial} SPO2=${spo2}% BPM=${bpm} PI=${pi}% ` +
    `SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=${alarm} EXC=${exc}\r\n`
  );
}

class LineError extends Error {}

const NO_VALUE = /^-+(\.-+)?%?$/;

function parseNumber(
  fields: Map<string, string>,
  key: string,
  pattern: RegExp,
  max: number,
): number | null {
  const raw = required(fields, key);
  if (NO_VALUE.test(raw)) return null;
  if (!pattern.test(raw)) throw new LineError(`${key} value '${raw}' is not a number`);
  const value = Number.parseFloat(raw);
  if (value > max) throw new LineError(`${key} value ${value} is out of range 0-${max}`);
  return value;
}

function parseHex(fields: Map<string, string>, key: string, digits: number): number {
  const raw = required(fields, key);
  if (!new RegExp(`^[0-9A-Fa-f]{${digits}}$`).test(raw)) {
    throw new LineError(`${key} value '${raw}' is not ${digits} hex digits`);
  }
  return Number.parseInt(raw, 16);
}

function required(fields: Map<string, string>, key: string): string {
  const raw = fields.get(key);
  if (raw === undefined) throw new LineError(`missing field ${key}`);
  return raw;
}

function parseDateTime(date: string | undefined, time: string | undefined, offsetMin: number) {
  const d = /^(\d{2})\/(\d{2})\/(\d{2})$/.exec(date ?? '');
  if (!d) throw new LineError(`bad date '${date ?? ''}' (expected MM/DD/YY)`);
  const t = /^(\d{2}):(\d{2}):(\d{2})$/.exec(time ?? '');
  if (!t) throw new LineError(`bad time '${time ?? ''}' (expected HH:MM:SS)`);
  const [month, day, year] = [Number(d[1]), Number(d[2]), 2000 + Number(d[3])];
  const [hours, minutes, seconds] = [Number(t[1]), Number(t[2]), Number(t[3])];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) {
    throw new LineError(`bad date '${date}' (no such day)`);
  }
  if (hours > 23 || minutes > 59 || seconds > 59) {
    throw new LineError(`bad time '${time}' (out of range)`);
  }
  return Date.UTC(year, month - 1, day, hours, minutes, seconds) - offsetMin * 60_000;
}

/** Parses one line (its CR/LF, if still there, is ignored). Never throws. */
export function parseOximeterLine(
  line: string,
  options: ParseOximeterLineOptions = {},
): ParsedOximeterLine {
  try {
    const [date, time, ...rest] = line.trim().split(/ +/);
    const parsedTime = parseDateTime(date, time, options.utcOffsetMinutes ?? 0);
    const fields = new Map<string, string>();
    for (const token of rest) {
      const eq = token.indexOf('=');
      if (eq <= 0) throw new LineError(`malformed field '${token}' (expected KEY=VALUE)`);
      fields.set(token.slice(0, eq), token.slice(eq + 1));
    }
    const serial = required(fields, 'SN');
    if (!/^[0-9A-Za-z]+$/.test(serial)) throw new LineError(`SN value '${serial}' is malformed`);
    const spo2 = parseNumber(fields, 'SPO2', /^\d{1,3}%?$/, 100);
    const pulseRate = parseNumber(fields, 'BPM', /^\d{1,3}$/, 400);
    const perfusionIndex = parseNumber(fields, 'PI', /^\d{1,3}(\.\d{1,3})?%?$/, 100);
    const alarmBits = parseHex(fields, 'ALARM', 4);
    const exceptionBits = parseHex(fields, 'EXC', 6);
    return {
      ok: true,
      time: parsedTime,
      serial,
      spo2,
      pulseRate,
      perfusionIndex,
      alarmBits,
      exceptionBits,
      exceptions: exceptionNames(exceptionBits),
    };
  } catch (error) {
    if (error instanceof LineError) return { ok: false, error: error.message };
    throw error;
  }
}

export interface OximeterLineSplitterOptions {
  /** Longest line accepted, terminator excluded (default 512). */
  maxLength?: number;
  /** Told about each dropped run of garbage and each over-long line. */
  onError?: (error: Error) => void;
}

const CR = 0x0d;
const LF = 0x0a;
const isPrintable = (byte: number) => (byte >= 0x20 && byte <= 0x7e) || byte === 0x09;
const hex = (byte: number) => `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * Cuts a byte stream into lines. CR, LF and CR LF all end a line; empty lines are skipped.
 * A non-printable or non-ASCII byte corrupts the line it is in: that line is dropped up to the
 * next line end (one error per dropped run) and the splitter resynchronises on the next line.
 * A line longer than maxLength is dropped the same way.
 */
export class OximeterLineSplitter {
  private readonly maxLength: number;
  private readonly onError: (error: Error) => void;
  private line = '';
  /** Dropping bytes until the next line end. */
  private discarding = false;

  constructor(options: OximeterLineSplitterOptions = {}) {
    this.maxLength = options.maxLength ?? 512;
    this.onError = options.onError ?? (() => {});
  }

  push(chunk: Buffer | string): string[] {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    const lines: string[] = [];
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i];
      if (byte === CR || byte === LF) {
        if (!this.discarding) this.line += bytes.toString('latin1', start, i);
        if (!this.discarding && this.line.length > 0) lines.push(this.line);
        this.line = '';
        this.discarding = false;
        start = i + 1;
      } else if (!isPrintable(byte)) {
        if (!this.discarding) {
          const pending = this.line.length + (i - start);
          let end = i;
          while (end < bytes.length && end - i < 8 && !isPrintable(bytes[end])) end++;
          const shown = Array.from(bytes.subarray(i, end), hex).join(' ');
          this.onError(
            new Error(
              `dropped garbage byte(s) ${shown}${end - i === 8 ? ' …' : ''}` +
                (pending > 0 ? ` and the ${pending} character(s) before them` : '') +
                ', resynchronising at the next line',
            ),
          );
          this.discarding = true;
          this.line = '';
        }
        start = i + 1;
      } else if (!this.discarding && this.line.length + (i + 1 - start) > this.maxLength) {
        this.onError(
          new Error(`line longer than ${this.maxLength} characters dropped, resynchronising`),
        );
        this.discarding = true;
        this.line = '';
      }
    }
    if (!this.discarding) this.line += bytes.toString('latin1', start, bytes.length);
    return lines;
  }
}
