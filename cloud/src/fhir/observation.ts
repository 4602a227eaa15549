import { PARAMETERS, type ParameterTerm, termFor } from '@wardgate/shared';
import { and, asc, count, desc, eq, inArray, or, type SQL } from 'drizzle-orm';
import { NOTHING } from '../db/conditions.ts';
import type { Db } from '../db/database.ts';
import { readings } from '../db/schema.ts';
import { rangeAndInterpretation } from './reference-ranges.ts';
import {
  dateCondition,
  orValues,
  type ParsedSearch,
  parseDate,
  parseReference,
  parseToken,
  patientCondition,
  type SearchSpec,
  type TokenValue,
} from './search-params.ts';

export const LOINC_SYSTEM = 'http://loinc.org';
export const MDC_SYSTEM = 'urn:iso:std:iso:11073:10101';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY_SYSTEM =
  'http://terminology.hl7.org/CodeSystem/observation-category';

export const OBSERVATION_SEARCH: SearchSpec = {
  resourceType: 'Observation',
  params: {
    patient: 'reference',
    subject: 'reference',
    code: 'token',
    date: 'date',
    device: 'reference',
  },
  sortKeys: ['date', '_lastUpdated'],
};

type ReadingRow = typeof readings.$inferSelect;

export interface Coding {
  system: string;
  code: string;
  display?: string;
}

export interface Observation {
  resourceType: 'Observation';
  id: string;
  meta: { lastUpdated: string };
  status: 'final' | 'preliminary' | 'entered-in-error';
  category?: { coding: Coding[] }[];
  code: { coding?: Coding[]; text: string };
  subject?: { reference: string };
  effectiveDateTime: string;
  issued: string;
  valueQuantity: { value: number; unit: string; system?: string; code?: string };
  interpretation?: unknown[];
  device?: { reference: string };
  referenceRange?: unknown[];
}

/**
 * Device quality → Observation.status. A questionable value (e.g. weak signal) is released as
 * 'preliminary'; a value the device itself flags invalid is 'entered-in-error', so consumers that
 * filter on status never chart it, while it stays retrievable for audit.
 */
const STATUS_BY_QUALITY: Record<string, Observation['status']> = {
  valid: 'final',
  questionable: 'preliminary',
  invalid: 'entered-in-error',
};

export function observationId(gatewayId: string, seq: number): string {
  return `${gatewayId}.r${seq}`;
}

/** Reverses observationId; splits on the last '.r' since gateway ids may contain one. */
export function parseObservationId(id: string): { gatewayId: string; seq: number } | undefined {
  const at = id.lastIndexOf('.r');
  if (at <= 0) return undefined;
  const digits = id.slice(at + 2);
  const seq = Number(digits);
  if (!/^\d+$/.test(digits) || !Number.isSafeInteger(seq)) return undefined;
  return { gatewayId: id.slice(0, at), seq };
}

export function observationFromRow(row: ReadingRow): Observation {
  const term = termFor(row.parameter);
  const observation: Observation = {
    resourceType: 'Observation',
    id: observationId(row.gatewayId, row.seq),
    meta: { lastUpdated: iso(row.receivedAt) },
    status: STATUS_BY_QUALITY[row.quality] ?? 'final',
    code: term ? codeOf(term) : { text: row.parameter },
    effectiveDateTime: iso(row.deviceTime),
    issued: iso(row.gatewayTime),
    valueQuantity: term
      ? { value: row.value, unit: row.unit, system: UCUM_SYSTEM, code: term.ucum }
      : { value: row.value, unit: row.unit },
  };
  // Interpretation sits after the value, the reference range after the device (FHIR's order).
  const judged =
    row.quality === 'valid' && term
      ? rangeAndInterpretation(row.parameter, row.value, term.ucum)
      : {};
  if (judged.interpretation) observation.interpretation = judged.interpretation;
  observation.device = { reference: `Device/${row.gatewayId}.${row.deviceId}` };
  if (judged.referenceRange) observation.referenceRange = judged.referenceRange;
  if (term?.vitalSign) {
    observation.category = [
      {
        coding: [
          { system: OBSERVATION_CATEGORY_SYSTEM, code: 'vital-signs', display: 'Vital Signs' },
        ],
      },
    ];
  }
  if (row.patientId !== null) observation.subject = { reference: `Patient/${row.patientId}` };
  return sortKeysLikeFhir(observation);
}

function codeOf(term: ParameterTerm): Observation['code'] {
  const coding: Coding[] = [];
  // Not every device parameter has a LOINC code (infusion pump terms have none).
  if (term.loinc) {
    coding.push({
      system: LOINC_SYSTEM,
      code: term.loinc,
      display: term.loincDisplay ?? term.display,
    });
  }
  coding.push({ system: MDC_SYSTEM, code: String(term.mdcCode), display: term.mdc });
  return { coding, text: term.display };
}

/** Element order of the FHIR Observation definition, so the JSON reads like a FHIR example. */
function sortKeysLikeFhir(o: Observation): Observation {
  const { resourceType, id, meta, status, category, code, subject, ...rest } = o;
  return {
    resourceType,
    id,
    meta,
    status,
    ...(category && { category }),
    code,
    ...(subject && { subject }),
    ...rest,
  };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

export async function readObservation(db: Db, id: string): Promise<Observation | undefined> {
  const key = parseObservationId(id);
  if (!key) return undefined;
  const rows = await db
    .select()
    .from(readings)
    .where(and(eq(readings.gatewayId, key.gatewayId), eq(readings.seq, key.seq)));
  return rows[0] && observationFromRow(rows[0]);
}

export async function searchObservations(
  db: Db,
  search: ParsedSearch,
): Promise<{ total: number; resources: Observation[] }> {
  const where = observationWhere(search.filters);
  const [{ total }] = await db.select({ total: count() }).from(readings).where(where);
  if (search.count === 0) return { total, resources: [] };
  const sortColumns = { date: readings.deviceTime, _lastUpdated: readings.receivedAt };
  const order = search.sort.map(({ key, descending }) => {
    const column = sortColumns[key as keyof typeof sortColumns];
    return descending ? desc(column) : asc(column);
  });
  if (search.sort.length === 0) order.push(asc(readings.deviceTime));
  // (gatewayId, seq) is the primary key: a total order keeps offset pages disjoint.
  order.push(asc(readings.gatewayId), asc(readings.seq));
  const rows = await db
    .select()
    .from(readings)
    .where(where)
    .orderBy(...order)
    .limit(search.count)
    .offset(search.offset);
  return { total, resources: rows.map(observationFromRow) };
}

/** Each occurrence of a parameter ANDs; the comma alternatives inside one occurrence OR. */
function observationWhere(filters: Map<string, string[]>): SQL | undefined {
  const conditions: SQL[] = [];
  for (const [param, values] of filters) {
    for (const value of values) {
      const alternatives = orValues(param, value);
      conditions.push(conditionFor(param, alternatives));
    }
  }
  return conditions.length > 0 ? and(...conditions) : undefined;
}

function conditionFor(param: string, alternatives: string[]): SQL {
  switch (param) {
    case 'patient':
    case 'subject':
      return patientCondition(readings.patientId, param, alternatives);
    case 'code': {
      const refids = parametersMatching(alternatives.map((a) => parseToken(param, a)));
      return refids.length > 0 ? inArray(readings.parameter, refids) : NOTHING;
    }
    case 'device': {
      const ids = alternatives
        .map((a) => parseReference(param, a, 'Device'))
        .filter((id) => id !== undefined);
      const keys = ids.flatMap(deviceKeyCandidates);
      return keys.length > 0 ? (or(...keys) as SQL) : NOTHING;
    }
    case 'date':
      return (
        or(...alternatives.map((a) => dateCondition(readings.deviceTime, parseDate(param, a)))) ??
        NOTHING
      );
    default:
      throw new Error(`observation search parameter "${param}" has no SQL translation`);
  }
}

/**
 * The MDC refids (the `parameter` column) whose LOINC or MDC coding matches one of the tokens.
 * A token with an unknown system, or with no system (`|code`: our codings all have one), matches
 * nothing.
 */
export function parametersMatching(tokens: TokenValue[]): string[] {
  const matches = (term: ParameterTerm, token: TokenValue) => {
    const byLoinc = term.loinc !== undefined && term.loinc === token.code;
    const byMdc = String(term.mdcCode) === token.code;
    if (token.system === undefined) return byLoinc || byMdc;
    if (token.system === LOINC_SYSTEM) return byLoinc;
    if (token.system === MDC_SYSTEM) return byMdc;
    return false;
  };
  return PARAMETERS.filter((term) => tokens.some((t) => matches(term, t))).map((t) => t.mdc);
}

/**
 * `Device/{gatewayId}.{deviceId}`: either id may contain dots, so every split is tried — each is
 * an exact (gateway_id, device_id) match the readings_device_time index serves.
 */
function deviceKeyCandidates(id: string): SQL[] {
  const candidates: SQL[] = [];
  for (let at = 1; at < id.length - 1; at++) {
    if (id[at] !== '.') continue;
    const condition = and(
      eq(readings.gatewayId, id.slice(0, at)),
      eq(readings.deviceId, id.slice(at + 1)),
    );
    if (condition) candidates.push(condition);
  }
  return candidates;
}
