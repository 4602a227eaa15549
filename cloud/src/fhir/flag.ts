/**
 * Alarms as FHIR R4 `Flag` resources.
 *
 * Why Flag: R4 has no resource for a device alarm — `DeviceAlert` only comes with R6 (and the
 * HL7 Device Alert IG). R4's Flag is "a warning about a subject needing attention": it has a
 * status (active while the alarm is not cleared, inactive after), a period (raised … cleared), an
 * author (the Device that raised it), a subject (the Patient in the bed), a category and a code.
 * What Flag has no element for (parameter, priority, kind, source, value, limit, acknowledgement,
 * silence, escalation) goes into extensions under `urn:wardgate:fhir:StructureDefinition/`.
 *
 * Every alarm Flag has category `alarm` (system `urn:wardgate:flag-category`) so that clinical
 * alert Flags can live beside them. The code is the alarm condition: MDC event codes (MDC_EVT_*)
 * in the ISO/IEEE 11073-10101 system, wardgate codes (WG_*) in `urn:wardgate:alarm-condition`.
 * The alarm records carry the MDC reference id (MDC_EVT_HI), not the numeric term code, so the
 * reference id is the code.
 */
import { createHash } from 'node:crypto';
import { termFor } from '@wardgate/shared';
import { and, eq, like, or, type SQL, sql } from 'drizzle-orm';
import {
  type ActorAt,
  type Alarm,
  activeCondition,
  countAlarms,
  findAlarms,
  loadAlarms,
  raisedEvent,
} from '../alarms/queries.ts';
import { NOTHING } from '../db/conditions.ts';
import type { Db } from '../db/database.ts';
import { MDC_SYSTEM } from './observation.ts';
import { SearchParamError } from './operation-outcome.ts';
import {
  dateCondition,
  orValues,
  type ParsedSearch,
  parseDate,
  parseToken,
  patientCondition,
  type SearchSpec,
} from './search-params.ts';

export const FLAG_CATEGORY_SYSTEM = 'urn:wardgate:flag-category';
export const ALARM_CONDITION_SYSTEM = 'urn:wardgate:alarm-condition';
export const ALARM_IDENTIFIER_SYSTEM = 'urn:wardgate:alarm';
export const BED_IDENTIFIER_SYSTEM = 'urn:wardgate:bed';
export const FLAG_STATUS_SYSTEM = 'http://hl7.org/fhir/flag-status';
const EXTENSION_BASE = 'urn:wardgate:fhir:StructureDefinition';
export const ALARM_EXTENSION = {
  priority: `${EXTENSION_BASE}/alarm-priority`,
  kind: `${EXTENSION_BASE}/alarm-kind`,
  source: `${EXTENSION_BASE}/alarm-source`,
  bed: `${EXTENSION_BASE}/alarm-bed`,
  parameter: `${EXTENSION_BASE}/alarm-parameter`,
  value: `${EXTENSION_BASE}/alarm-value`,
  limit: `${EXTENSION_BASE}/alarm-limit`,
  escalated: `${EXTENSION_BASE}/alarm-escalated`,
  acknowledged: `${EXTENSION_BASE}/alarm-acknowledged`,
  silenced: `${EXTENSION_BASE}/alarm-silenced`,
} as const;

export const FLAG_SEARCH: SearchSpec = {
  resourceType: 'Flag',
  params: { patient: 'reference', subject: 'reference', status: 'token', date: 'date' },
  sortKeys: [],
};

interface Extension {
  url: string;
  valueCode?: string;
  valueString?: string;
  valueDecimal?: number;
  valueBoolean?: boolean;
  valueDateTime?: string;
  valueCodeableConcept?: {
    coding?: { system: string; code: string; display?: string }[];
    text: string;
  };
  extension?: Extension[];
}

export interface Flag {
  resourceType: 'Flag';
  id: string;
  meta: { lastUpdated: string };
  extension: Extension[];
  identifier: { system: string; value: string }[];
  status: 'active' | 'inactive';
  category: { coding: { system: string; code: string; display: string }[] }[];
  code: { coding?: { system: string; code: string }[]; text: string };
  subject:
    | { reference: string }
    | { type: 'Location'; identifier: { system: string; value: string }; display: string };
  period: { start: string; end?: string };
  author: { reference: string };
}

const FHIR_ID_CHAR = /[A-Za-z0-9.-]/;
const FHIR_ID_MAX = 64;
const HASH_LENGTH = 16;

/**
 * `{gatewayId}.{alarmId}` when the alarm id is made of FHIR id characters and the whole fits in
 * 64; else `{gatewayId}.{alarmId with other characters as '-', cut to fit}.{16 hex of a hash}`.
 * Gateway ids hold no dot, so the first dot always ends the gateway id.
 */
export function flagId(gatewayId: string, alarmId: string): string {
  const plain = `${gatewayId}.${alarmId}`;
  if ([...alarmId].every((ch) => FHIR_ID_CHAR.test(ch)) && plain.length <= FHIR_ID_MAX)
    return plain;
  const hash = createHash('sha256')
    .update(`${gatewayId}\u0000${alarmId}`)
    .digest('hex')
    .slice(0, HASH_LENGTH);
  const room = FHIR_ID_MAX - gatewayId.length - 2 - HASH_LENGTH;
  const readable = Array.from(alarmId, (ch) => (FHIR_ID_CHAR.test(ch) ? ch : '-'))
    .slice(0, room)
    .join('');
  return `${gatewayId}.${readable}.${hash}`;
}

export function flagFromAlarm(alarm: Alarm): Flag {
  const extension: Extension[] = [
    { url: ALARM_EXTENSION.priority, valueCode: alarm.priority },
    { url: ALARM_EXTENSION.kind, valueCode: alarm.kind },
    { url: ALARM_EXTENSION.source, valueCode: alarm.source },
    { url: ALARM_EXTENSION.bed, valueString: alarm.bedId },
  ];
  if (alarm.parameter !== null) {
    const term = termFor(alarm.parameter);
    extension.push({
      url: ALARM_EXTENSION.parameter,
      valueCodeableConcept: term
        ? {
            coding: [{ system: MDC_SYSTEM, code: String(term.mdcCode), display: term.mdc }],
            text: term.display,
          }
        : { text: alarm.parameter },
    });
  }
  if (alarm.lastValue !== null)
    extension.push({ url: ALARM_EXTENSION.value, valueDecimal: alarm.lastValue });
  if (alarm.limit !== null)
    extension.push({ url: ALARM_EXTENSION.limit, valueDecimal: alarm.limit });
  extension.push({ url: ALARM_EXTENSION.escalated, valueBoolean: alarm.escalated });
  if (alarm.acknowledged)
    extension.push(actorExtension(ALARM_EXTENSION.acknowledged, alarm.acknowledged));
  if (alarm.silenced) extension.push(actorExtension(ALARM_EXTENSION.silenced, alarm.silenced));

  return {
    resourceType: 'Flag',
    id: flagId(alarm.gatewayId, alarm.alarmId),
    meta: { lastUpdated: iso(alarm.updatedAt) },
    extension,
    identifier: [{ system: ALARM_IDENTIFIER_SYSTEM, value: `${alarm.gatewayId}/${alarm.alarmId}` }],
    status: alarm.active ? 'active' : 'inactive',
    category: [
      { coding: [{ system: FLAG_CATEGORY_SYSTEM, code: 'alarm', display: 'Device alarm' }] },
    ],
    code: conditionCode(alarm),
    subject:
      alarm.patientId !== null
        ? { reference: `Patient/${alarm.patientId}` }
        : {
            // No patient in the bed: the bed itself needs attention (a logical Location reference).
            type: 'Location',
            identifier: {
              system: BED_IDENTIFIER_SYSTEM,
              value: `${alarm.gatewayId}/${alarm.bedId}`,
            },
            display: `Bed ${alarm.bedId} of ${alarm.gatewayId}`,
          },
    period: {
      start: iso(alarm.raisedAt),
      ...(alarm.clearedAt !== null && { end: iso(alarm.clearedAt) }),
    },
    author: { reference: `Device/${alarm.gatewayId}.${alarm.deviceId}` },
  };
}

function conditionCode(alarm: Alarm): Flag['code'] {
  const text = alarm.message ?? alarm.condition;
  const system = alarm.condition.startsWith('MDC_EVT_')
    ? MDC_SYSTEM
    : alarm.condition.startsWith('WG_')
      ? ALARM_CONDITION_SYSTEM
      : undefined;
  return system ? { coding: [{ system, code: alarm.condition }], text } : { text };
}

function actorExtension(url: string, { by, at }: ActorAt): Extension {
  const parts: Extension[] = [];
  if (by !== null) parts.push({ url: 'by', valueString: by });
  parts.push({ url: 'at', valueDateTime: iso(at) });
  return { url, extension: parts };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export async function readFlag(db: Db, id: string): Promise<Flag | undefined> {
  const dot = id.indexOf('.');
  if (dot <= 0) return undefined;
  const gatewayId = id.slice(0, dot);
  const rest = id.slice(dot + 1);
  const r = raisedEvent;
  const candidates: SQL[] = [eq(r.alarmId, rest)];
  const hashed = /^(.*)\.[0-9a-f]{16}$/.exec(rest);
  // The readable part kept the id's length in characters, '-' standing for any character.
  if (hashed) candidates.push(like(r.alarmId, `${hashed[1].replaceAll('-', '_')}%`));
  const rows = await db
    .select({ gatewayId: r.gatewayId, alarmId: r.alarmId })
    .from(r)
    .where(and(eq(r.transition, 'raised'), eq(r.gatewayId, gatewayId), or(...candidates)));
  const match = rows.find((row) => flagId(row.gatewayId, row.alarmId) === id);
  if (!match) return undefined;
  const [alarm] = await loadAlarms(db, [match]);
  return alarm && flagFromAlarm(alarm);
}

/** Oldest raised first; `date` is the period start (when the alarm was raised). */
export async function searchFlags(
  db: Db,
  search: ParsedSearch,
): Promise<{ total: number; resources: Flag[] }> {
  const where: SQL[] = [];
  for (const [param, values] of search.filters) {
    for (const value of values) where.push(conditionFor(db, param, orValues(param, value)));
  }
  const filter = { where };
  const total = await countAlarms(db, filter);
  if (search.count === 0) return { total, resources: [] };
  const page = await findAlarms(db, filter, {
    order: 'oldest',
    limit: search.count,
    offset: search.offset,
  });
  return { total, resources: page.alarms.map(flagFromAlarm) };
}

function conditionFor(db: Db, param: string, alternatives: string[]): SQL {
  const r = raisedEvent;
  switch (param) {
    case 'patient':
    case 'subject':
      return patientCondition(r.patientId, param, alternatives);
    case 'status': {
      const wanted = new Set(alternatives.map((a) => statusOf(param, a)));
      if (wanted.has('active') && wanted.has('inactive')) return sql`true`;
      if (wanted.has('active')) return activeCondition(db, true);
      if (wanted.has('inactive')) return activeCondition(db, false);
      return NOTHING;
    }
    case 'date':
      return (
        or(...alternatives.map((a) => dateCondition(raisedEvent.time, parseDate(param, a)))) ??
        NOTHING
      );
    default:
      throw new Error(`flag search parameter "${param}" has no SQL translation`);
  }
}

/** Flag statuses: ours are active or inactive; entered-in-error is valid but never present. */
function statusOf(param: string, alternative: string): 'active' | 'inactive' | 'none' {
  const { system, code } = parseToken(param, alternative);
  if (system !== undefined && system !== FLAG_STATUS_SYSTEM) return 'none';
  if (code === 'active' || code === 'inactive') return code;
  if (code === 'entered-in-error') return 'none';
  throw new SearchParamError(
    param,
    `"${code}" is not a Flag status (active, inactive, entered-in-error)`,
  );
}
