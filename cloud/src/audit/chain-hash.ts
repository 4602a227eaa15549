import { createHash } from 'node:crypto';

/** The prev_hash of the first row. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an audit_log row that its hash covers: all of them but the hash itself. */
export interface ChainedRow {
  seq: number;
  recordedAt: number;
  actorId: string | null;
  actorRole: string | null;
  action: string;
  outcome: string;
  patientIds: string[];
  event: unknown;
  prevHash: string;
}

/**
 * JSON with object keys sorted and no whitespace (RFC 8785 for the values we store: strings,
 * integers, booleans, null). A jsonb column gives the same value back with its keys reordered,
 * so the hash is computed over this form, never over the stored text.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    if (text === undefined) throw new TypeError(`cannot hash ${typeof value}`);
    return text;
  }
  // Loops and string concatenation: this runs for every row appended and verified.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i > 0 ? ',' : '') + canonicalJson(value[i]);
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(object).sort()) {
    const item = object[key];
    if (item === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${out}}`;
}

/** SHA-256 hex of prev_hash followed by the canonical JSON of the row's fields. */
export function rowHash(row: ChainedRow): string {
  return createHash('sha256')
    .update(row.prevHash)
    .update(
      canonicalJson({
        seq: row.seq,
        recordedAt: row.recordedAt,
        actorId: row.actorId,
        actorRole: row.actorRole,
        action: row.action,
        outcome: row.outcome,
        patientIds: row.patientIds,
        event: row.event,
      }),
    )
    .digest('hex');
}
