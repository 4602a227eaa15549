/**
 * Modbus device profiles: a device's register map and alarm bits as data (shared/profiles/*.json),
 * and the pure codec both the edge driver and the simulator use to read and write those registers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AlarmKind, AlarmPriority } from './records.ts';
import { DEVICE_KINDS, termFor } from './terminology.ts';

export const RegisterTable = z.enum(['holding', 'input']);
export type RegisterTable = z.infer<typeof RegisterTable>;
export const RegisterType = z.enum(['uint16', 'int16', 'uint32', 'int32', 'float32']);
export type RegisterType = z.infer<typeof RegisterType>;
/** Which 16-bit word of a 32-bit value comes first: `big` = high word at the lower address. */
export const WordOrder = z.enum(['big', 'little']);
export type WordOrder = z.infer<typeof WordOrder>;

const MdcRefId = z.string().regex(/^MDC_[A-Z0-9_]+$/, 'an IEEE 11073 MDC reference id');
const Address = z.number().int().min(0).max(0xffff);

export const RegisterDef = z
  .object({
    name: z.string().min(1),
    parameter: MdcRefId,
    table: RegisterTable,
    address: Address,
    type: RegisterType,
    /** Multiplier from the raw register value to the value in `unit`. */
    scale: z
      .number()
      .finite()
      .refine((s) => s !== 0, 'scale must not be 0'),
    unit: z.string().min(1),
  })
  .superRefine((reg, ctx) => {
    const term = termFor(reg.parameter);
    if (!term) {
      ctx.addIssue({
        code: 'custom',
        path: ['parameter'],
        message: `unknown parameter ${reg.parameter}: not in the terminology table`,
      });
    } else if (term.ucum !== reg.unit) {
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: `unit "${reg.unit}" does not match ${reg.parameter}'s UCUM unit "${term.ucum}"`,
      });
    }
    if (reg.address + registerWidth(reg.type) - 1 > 0xffff) {
      ctx.addIssue({ code: 'custom', path: ['address'], message: 'register runs past 65535' });
    }
  });
export type RegisterDef = z.infer<typeof RegisterDef>;

export const AlarmBitDef = z.object({
  bit: z.number().int().min(0).max(15),
  /** An MDC event code (MDC_EVT_*) or a wardgate code (WG_*). */
  condition: z.string().regex(/^(MDC_EVT_|WG_)[A-Z0-9_]+$/, 'an MDC_EVT_* or WG_* condition code'),
  parameter: MdcRefId.refine((p) => termFor(p) !== undefined, {
    message: 'unknown parameter: not in the terminology table',
  }).optional(),
  priority: AlarmPriority,
  kind: AlarmKind,
  message: z.string().min(1).max(512),
});
export type AlarmBitDef = z.infer<typeof AlarmBitDef>;

export const AlarmWordDef = z
  .object({
    table: RegisterTable,
    address: Address,
    bits: z.array(AlarmBitDef).min(1),
  })
  .superRefine((alarms, ctx) => {
    const seen = new Set<number>();
    alarms.bits.forEach((b, i) => {
      if (seen.has(b.bit)) {
        ctx.addIssue({ code: 'custom', path: ['bits', i, 'bit'], message: `bit ${b.bit} twice` });
      }
      seen.add(b.bit);
    });
  });
export type AlarmWordDef = z.infer<typeof AlarmWordDef>;

export const DeviceProfile = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'lowercase letters, digits, dot or dash'),
    manufacturer: z.string().min(1),
    model: z.string().min(1),
    kind: z.enum(DEVICE_KINDS),
    wordOrder: WordOrder,
    registers: z.array(RegisterDef).min(1),
    alarms: AlarmWordDef.optional(),
  })
  .superRefine((profile, ctx) => {
    // Every register word and the alarm word must have its own address in its table.
    const owner = new Map<string, string>();
    const claim = (table: RegisterTable, address: number, who: string, path: PropertyKey[]) => {
      const key = `${table}:${address}`;
      const previous = owner.get(key);
      if (previous) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `${who} overlaps ${previous} at ${table} register ${address}`,
        });
      } else {
        owner.set(key, who);
      }
    };
    const names = new Set<string>();
    const parameters = new Set<string>();
    profile.registers.forEach((reg, i) => {
      for (let w = 0; w < registerWidth(reg.type); w++) {
        claim(reg.table, reg.address + w, `register "${reg.name}"`, ['registers', i, 'address']);
      }
      if (names.has(reg.name)) {
        ctx.addIssue({ code: 'custom', path: ['registers', i, 'name'], message: 'name twice' });
      }
      if (parameters.has(reg.parameter)) {
        ctx.addIssue({
          code: 'custom',
          path: ['registers', i, 'parameter'],
          message: `${reg.parameter} mapped twice`,
        });
      }
      names.add(reg.name);
      parameters.add(reg.parameter);
    });
    if (profile.alarms) {
      claim(profile.alarms.table, profile.alarms.address, 'the alarm word', ['alarms', 'address']);
    }
  });
export type DeviceProfile = z.infer<typeof DeviceProfile>;

const PROFILES_DIR = fileURLToPath(new URL('../profiles/', import.meta.url));

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

/** Validates profile data; `source` names where it came from in the error. */
export function parseProfile(data: unknown, source = 'profile'): DeviceProfile {
  const result = DeviceProfile.safeParse(data);
  if (!result.success) throw new Error(`${source} is invalid: ${formatIssues(result.error)}`);
  return result.data;
}

/** Names of the profiles shipped in shared/profiles, e.g. "sim-ventilator-v1". */
export function listProfiles(): string[] {
  return readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/** Loads and validates shared/profiles/<name>.json. */
export function loadProfile(name: string): DeviceProfile {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name) || name.includes('..')) {
    throw new Error(`device profile name "${name}" is not a plain file name`);
  }
  const file = `${PROFILES_DIR}${name}.json`;
  if (!existsSync(file)) {
    throw new Error(
      `device profile "${name}" not found in ${PROFILES_DIR}; available: ${listProfiles().join(', ') || '(none)'}`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`profile file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  const profile = parseProfile(data, `profile file ${file}`);
  if (profile.id !== name) {
    throw new Error(`profile file ${file} is invalid: id: "${profile.id}" must equal "${name}"`);
  }
  return profile;
}

// ---- codec ----

/** Number of 16-bit registers a value of this type occupies. */
export function registerWidth(type: RegisterType): 1 | 2 {
  return type === 'uint16' || type === 'int16' ? 1 : 2;
}

/** One Modbus read: `count` registers from `start` in one table. */
export interface ReadSpan {
  table: RegisterTable;
  start: number;
  count: number;
}

/** Modbus caps a register read at 125 words. */
export const MAX_READ_WORDS = 125;

/**
 * The fewest contiguous reads that cover every register and the alarm word, per table. Gaps are
 * never read: a real device answers a read that touches an unmapped address with exception 2.
 */
export function registerSpan(profile: DeviceProfile): ReadSpan[] {
  const words: { table: RegisterTable; address: number }[] = [];
  for (const reg of profile.registers) {
    for (let w = 0; w < registerWidth(reg.type); w++) {
      words.push({ table: reg.table, address: reg.address + w });
    }
  }
  if (profile.alarms) words.push({ table: profile.alarms.table, address: profile.alarms.address });
  words.sort((a, b) => a.table.localeCompare(b.table) || a.address - b.address);

  const spans: ReadSpan[] = [];
  for (const word of words) {
    const last = spans[spans.length - 1];
    if (
      last &&
      last.table === word.table &&
      last.start + last.count === word.address &&
      last.count < MAX_READ_WORDS
    ) {
      last.count++;
    } else {
      spans.push({ table: word.table, start: word.address, count: 1 });
    }
  }
  return spans;
}

/** Decimal places of a scale such as 0.01, so 1234 × 0.01 gives 12.34 rather than 12.340000000000002. */
function decimalsOf(scale: number): number {
  const text = String(Math.abs(scale));
  const exp = text.match(/e-(\d+)$/);
  if (exp) return Number(exp[1]);
  const dot = text.indexOf('.');
  return dot < 0 ? 0 : text.length - dot - 1;
}

function wordPair(words: readonly number[], order: WordOrder): Buffer {
  const [hi, lo] = order === 'big' ? [words[0], words[1]] : [words[1], words[0]];
  const buf = Buffer.alloc(4);
  buf.writeUInt16BE(hi & 0xffff, 0);
  buf.writeUInt16BE(lo & 0xffff, 2);
  return buf;
}

/** The value in the profile's unit from the register's own words (1 or 2, lowest address first). */
export function decodeRegister(
  reg: RegisterDef,
  words: readonly number[],
  order: WordOrder,
): number {
  const width = registerWidth(reg.type);
  if (words.length < width || words.slice(0, width).some((w) => !Number.isInteger(w))) {
    throw new Error(`register "${reg.name}" needs ${width} word(s), got [${words.join(', ')}]`);
  }
  let raw: number;
  switch (reg.type) {
    case 'uint16':
      raw = words[0] & 0xffff;
      break;
    case 'int16':
      raw = ((words[0] & 0xffff) << 16) >> 16;
      break;
    case 'uint32':
      raw = wordPair(words, order).readUInt32BE(0);
      break;
    case 'int32':
      raw = wordPair(words, order).readInt32BE(0);
      break;
    case 'float32':
      // float32 carries about 7 significant digits; drop the binary noise beyond them.
      raw = Number(wordPair(words, order).readFloatBE(0).toPrecision(7));
      break;
  }
  if (!Number.isFinite(raw)) throw new Error(`register "${reg.name}" holds a non-finite float`);
  if (reg.type === 'float32') return raw * reg.scale;
  const decimals = decimalsOf(reg.scale);
  return Math.round(raw * reg.scale * 10 ** decimals) / 10 ** decimals;
}

const RANGES: Record<Exclude<RegisterType, 'float32'>, [number, number]> = {
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
};

/** The register words (lowest address first) that carry `value`; the simulator's side of the codec. */
export function encodeRegister(reg: RegisterDef, value: number, order: WordOrder): number[] {
  if (!Number.isFinite(value)) throw new Error(`register "${reg.name}": ${value} is not finite`);
  const buf = Buffer.alloc(4);
  if (reg.type === 'float32') {
    buf.writeFloatBE(value / reg.scale, 0);
  } else {
    const raw = Math.round(value / reg.scale);
    const [lo, hi] = RANGES[reg.type];
    if (raw < lo || raw > hi) {
      throw new Error(`register "${reg.name}": ${value} does not fit a scaled ${reg.type}`);
    }
    if (reg.type === 'uint16' || reg.type === 'int16') return [raw & 0xffff];
    if (reg.type === 'uint32') buf.writeUInt32BE(raw, 0);
    else buf.writeInt32BE(raw, 0);
  }
  const hiWord = buf.readUInt16BE(0);
  const loWord = buf.readUInt16BE(2);
  return order === 'big' ? [hiWord, loWord] : [loWord, hiWord];
}

/** The alarm bits set in the profile's alarm word. */
export function decodeAlarmBits(profile: DeviceProfile, word: number): AlarmBitDef[] {
  return (profile.alarms?.bits ?? []).filter((b) => ((word >> b.bit) & 1) === 1);
}
