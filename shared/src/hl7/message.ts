/**
 * HL7 v2 codec: parses a message into segments → fields → repetitions → components →
 * subcomponents (escape sequences decoded), and encodes segments back (values escaped).
 * Separators are taken from MSH-1/MSH-2 of each message.
 */

export interface Hl7Separators {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
}

export const DEFAULT_SEPARATORS: Hl7Separators = {
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
};

export class Hl7ParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Hl7ParseError';
  }
}

/** One field: its repetitions, each a list of components, each a list of subcomponents. */
export type Hl7Field = string[][][];

export interface Hl7Segment {
  name: string;
  /** Indexed by HL7 field number: fields[1] is SEG-1 (for MSH: the field separator). */
  fields: Hl7Field[];
}

/** A value to encode: a scalar, components (each a scalar or its subcomponents), or repetitions. */
export type Hl7Scalar = string | number | null | undefined;
export type Hl7Component = Hl7Scalar | Hl7Scalar[];
export type Hl7FieldInput = Hl7Scalar | Hl7Component[] | Hl7Repeat;
export interface Hl7Repeat {
  repetitions: (Hl7Scalar | Hl7Component[])[];
}
export interface Hl7SegmentInput {
  name: string;
  /** By HL7 field number; for MSH, fields 1 and 2 come from the separators and are ignored. */
  fields: Partial<Record<number, Hl7FieldInput>>;
}

/** Marks a field value as repetitions (joined with `~`). */
export function repeat(...repetitions: (Hl7Scalar | Hl7Component[])[]): Hl7Repeat {
  return { repetitions };
}

const SEGMENT_NAME = /^[A-Z][A-Z0-9]{2}$/;

export class Hl7Message {
  readonly separators: Hl7Separators;
  readonly all: readonly Hl7Segment[];

  constructor(segments: Hl7Segment[], separators: Hl7Separators) {
    this.all = segments;
    this.separators = separators;
  }

  /** Every segment with this name, in message order (all segments when no name is given). */
  segments(name?: string): Hl7Segment[] {
    return name ? this.all.filter((s) => s.name === name) : [...this.all];
  }

  segment(name: string): Hl7Segment | undefined {
    return this.all.find((s) => s.name === name);
  }

  /**
   * One value, 1-based like HL7 notation: get('OBX', 3, 2) is OBX-3.2 of the first OBX.
   * Absent parts read as ''.
   */
  get(
    segment: Hl7Segment | string | undefined,
    field: number,
    component = 1,
    repetition = 1,
    subcomponent = 1,
  ): string {
    const seg = typeof segment === 'string' ? this.segment(segment) : segment;
    return seg?.fields[field]?.[repetition - 1]?.[component - 1]?.[subcomponent - 1] ?? '';
  }

  /** How many repetitions a field has (0 when empty). */
  repetitions(segment: Hl7Segment | string | undefined, field: number): number {
    const seg = typeof segment === 'string' ? this.segment(segment) : segment;
    const value = seg?.fields[field];
    if (!value || (value.length === 1 && value[0].every((c) => c.every((s) => s === '')))) return 0;
    return value.length;
  }

  /** MSH-9 as "ORU^R01" (message code and trigger event). */
  get type(): string {
    return `${this.get('MSH', 9, 1)}^${this.get('MSH', 9, 2)}`;
  }

  get controlId(): string {
    return this.get('MSH', 10);
  }
}

export function parseHl7(text: string): Hl7Message {
  if (typeof text !== 'string' || text.trim() === '') {
    throw new Hl7ParseError('empty HL7 message');
  }
  const lines = text.split(/\r\n|\r|\n/).filter((line) => line.trim() !== '');
  const first = lines[0].replace(/^\uFEFF/, '');
  if (!first.startsWith('MSH')) {
    throw new Hl7ParseError(
      `HL7 message must start with an MSH segment, got "${first.slice(0, 20)}"`,
    );
  }
  const separators = readSeparators(first);
  lines[0] = first;
  const segments = lines.map((line, index) => parseSegment(line, index, separators));
  return new Hl7Message(segments, separators);
}

function readSeparators(msh: string): Hl7Separators {
  const field = msh[3];
  if (field === undefined || /[A-Za-z0-9\s]/.test(field)) {
    throw new Hl7ParseError('MSH-1 field separator is missing');
  }
  const end = msh.indexOf(field, 4);
  const encoding = end < 0 ? msh.slice(4) : msh.slice(4, end);
  // A 5th character (the v2.7 truncation character) is tolerated and ignored.
  if (encoding.length < 4) {
    throw new Hl7ParseError(
      `MSH-2 must hold 4 encoding characters (component, repetition, escape, subcomponent), got "${encoding}"`,
    );
  }
  const chars = [field, ...encoding.slice(0, 4)];
  if (new Set(chars).size !== chars.length || chars.some((c) => /[A-Za-z0-9\s]/.test(c))) {
    throw new Hl7ParseError(
      `MSH-1/MSH-2 separators must be distinct symbols, got "${chars.join('')}"`,
    );
  }
  return {
    field,
    component: encoding[0],
    repetition: encoding[1],
    escape: encoding[2],
    subcomponent: encoding[3],
  };
}

function parseSegment(line: string, index: number, separators: Hl7Separators): Hl7Segment {
  const parts = line.split(separators.field);
  const name = parts[0];
  if (!SEGMENT_NAME.test(name)) {
    throw new Hl7ParseError(
      `segment ${index + 1} has no valid 3-character name: "${line.slice(0, 20)}"`,
    );
  }
  const fields: Hl7Field[] = [[[[name]]]];
  if (name === 'MSH') {
    fields.push([[[separators.field]]], [[[parts[1] ?? '']]]);
    for (const raw of parts.slice(2)) fields.push(parseField(raw, separators));
  } else {
    for (const raw of parts.slice(1)) fields.push(parseField(raw, separators));
  }
  return { name, fields };
}

function parseField(raw: string, s: Hl7Separators): Hl7Field {
  return raw
    .split(s.repetition)
    .map((rep) =>
      rep
        .split(s.component)
        .map((comp) => comp.split(s.subcomponent).map((sub) => unescapeHl7(sub, s))),
    );
}

/** Decodes \F\ \S\ \T\ \R\ \E\, \Xhh…\ (UTF-8 bytes) and \.br\; drops highlighting \H\ \N\. */
export function unescapeHl7(text: string, s: Hl7Separators = DEFAULT_SEPARATORS): string {
  const esc = s.escape;
  if (!text.includes(esc)) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf(esc, i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, start);
    const end = text.indexOf(esc, start + 1);
    if (end < 0) {
      // An unterminated escape is kept as written.
      out += text.slice(start);
      break;
    }
    out += decodeEscape(text.slice(start + 1, end), s) ?? text.slice(start, end + 1);
    i = end + 1;
  }
  return out;
}

function decodeEscape(code: string, s: Hl7Separators): string | null {
  switch (code) {
    case 'F':
      return s.field;
    case 'S':
      return s.component;
    case 'T':
      return s.subcomponent;
    case 'R':
      return s.repetition;
    case 'E':
      return s.escape;
    case 'H':
    case 'N':
      return '';
    case '.br':
      return '\n';
  }
  if (/^X(?:[0-9A-Fa-f]{2})+$/.test(code)) {
    return Buffer.from(code.slice(1), 'hex').toString('utf8');
  }
  return null;
}

/** Escapes separators, the escape character itself, and CR/LF (as \X0D\ / \X0A\). */
export function escapeHl7(text: string, s: Hl7Separators = DEFAULT_SEPARATORS): string {
  const e = s.escape;
  let out = '';
  for (const ch of text) {
    if (ch === e) out += `${e}E${e}`;
    else if (ch === s.field) out += `${e}F${e}`;
    else if (ch === s.component) out += `${e}S${e}`;
    else if (ch === s.subcomponent) out += `${e}T${e}`;
    else if (ch === s.repetition) out += `${e}R${e}`;
    else if (ch === '\r') out += `${e}X0D${e}`;
    else if (ch === '\n') out += `${e}X0A${e}`;
    else out += ch;
  }
  return out;
}

/** Builds a message: segments joined and terminated by CR, trailing empty parts trimmed. */
export function encodeHl7(
  segments: Hl7SegmentInput[],
  separators: Hl7Separators = DEFAULT_SEPARATORS,
): string {
  if (segments[0]?.name !== 'MSH') throw new Hl7ParseError('an HL7 message must start with MSH');
  return segments.map((seg) => `${encodeSegment(seg, separators)}\r`).join('');
}

function encodeSegment(seg: Hl7SegmentInput, s: Hl7Separators): string {
  if (!SEGMENT_NAME.test(seg.name)) throw new Hl7ParseError(`invalid segment name "${seg.name}"`);
  const numbers = Object.keys(seg.fields).map(Number);
  const last = Math.max(0, ...numbers.filter((n) => Number.isInteger(n) && n > 0));
  const values: string[] = [];
  const isMsh = seg.name === 'MSH';
  for (let n = isMsh ? 3 : 1; n <= last; n++) values.push(encodeField(seg.fields[n], s));
  trimTrailing(values);
  const head = isMsh
    ? `MSH${s.field}${s.component}${s.repetition}${s.escape}${s.subcomponent}`
    : seg.name;
  return values.length ? `${head}${s.field}${values.join(s.field)}` : head;
}

function encodeField(value: Hl7FieldInput, s: Hl7Separators): string {
  if (isRepeat(value)) {
    return value.repetitions.map((rep) => encodeComponents(rep, s)).join(s.repetition);
  }
  return encodeComponents(value, s);
}

function encodeComponents(value: Hl7Scalar | Hl7Component[], s: Hl7Separators): string {
  if (!Array.isArray(value)) return encodeScalar(value, s);
  const comps = value.map((c) =>
    Array.isArray(c)
      ? trimTrailing(c.map((sub) => encodeScalar(sub, s))).join(s.subcomponent)
      : encodeScalar(c, s),
  );
  return trimTrailing(comps).join(s.component);
}

function encodeScalar(value: Hl7Scalar, s: Hl7Separators): string {
  return value === null || value === undefined ? '' : escapeHl7(String(value), s);
}

function isRepeat(value: Hl7FieldInput): value is Hl7Repeat {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function trimTrailing(values: string[]): string[] {
  while (values.length && values[values.length - 1] === '') values.pop();
  return values;
}

/**
 * Best effort for a frame that does not parse: MSH-10 (control id) and MSH-3 (sending
 * application) read straight from the raw text, so the sender still gets a usable ACK.
 */
export function sniffMsh(text: string): { controlId: string; sendingApp: string } | null {
  const start = text.indexOf('MSH');
  if (start < 0 || text.length < start + 4) return null;
  const line = text.slice(start).split(/\r|\n/)[0];
  const parts = line.split(line[3]);
  const component = line[4] ?? '^';
  return {
    controlId: (parts[9] ?? '').split(component)[0].slice(0, 199),
    sendingApp: (parts[2] ?? '').split(component)[0].slice(0, 199),
  };
}
