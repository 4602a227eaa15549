import { AlarmKind, AlarmPriority } from '@wardgate/shared';
import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AccessDenied, accessOf, redactQuery } from '../access/index.ts';
import { errorForLog } from '../crypto/log-redaction.ts';
import type { Db } from '../db/database.ts';
import { FhirError } from '../fhir/operation-outcome.ts';
import { DEFAULT_COUNT, MAX_COUNT, parseDate } from '../fhir/search-params.ts';
import {
  type Alarm,
  type AlarmCursor,
  type AlarmFilter,
  activeAlarms,
  countAlarms,
  findAlarms,
  readAlarm,
} from './queries.ts';

/** A request the alarms API refuses: `{ error: { code, message } }` with `status`. */
export class AlarmApiError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  constructor(status: ContentfulStatusCode, code: string, message: string) {
    super(message);
    this.name = 'AlarmApiError';
    this.status = status;
    this.code = code;
  }
}

const ACTIVE_PARAMS = ['gateway', 'bed', 'patient'] as const;
const HISTORY_PARAMS = [...ACTIVE_PARAMS, 'from', 'to', 'priority', 'kind', '_count', 'cursor'];

/**
 * The alarms JSON API, mounted at `/api/alarms`:
 * - `GET /active` — alarms not cleared, high priority first, newest first within a priority;
 * - `GET /` — history: alarms raised in [from, to), newest first, cursor-paged with a next link;
 * - `GET /:gatewayId/:alarmId` — one alarm with every transition in order.
 * `gateway` is the ward (one gateway per ward).
 */
export function alarmsApp(db: Db): Hono {
  const app = new Hono();

  // Alarms are the Flags of a patient's record: read as Flag, within the care relationship.
  app.get('/active', async (c) => {
    const access = accessOf(c);
    access.require('Flag', 'search');
    const query = queryOf(c, ACTIVE_PARAMS);
    const op = access.record('search', 'alarms/active', [], redactQuery(query));
    const alarms = await activeAlarms(db, { ...placeFilter(query), visibleTo: access.visibleTo() });
    for (const alarm of alarms) if (alarm.patientId) op.patients.add(alarm.patientId);
    return c.json({ alarms: alarms.map(publicAlarm) });
  });

  app.get('/', async (c) => {
    const access = accessOf(c);
    access.require('Flag', 'search');
    const query = queryOf(c, HISTORY_PARAMS);
    const op = access.record('search', 'alarms', [], redactQuery(query));
    const filter: AlarmFilter = {
      ...placeFilter(query),
      ...rangeOf(query.get('from'), query.get('to')),
      visibleTo: access.visibleTo(),
    };
    const priorities = query.get('priority');
    if (priorities !== undefined)
      filter.priorities = listOf('priority', priorities, AlarmPriority.options);
    const kinds = query.get('kind');
    if (kinds !== undefined) filter.kinds = listOf('kind', kinds, AlarmKind.options);
    const limit = countOf(query.get('_count'));
    const cursor = query.get('cursor');
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const [page, total] = await Promise.all([
      findAlarms(db, filter, { order: 'newest', limit, after }),
      countAlarms(db, filter),
    ]);
    let next: string | null = null;
    if (page.next) {
      const url = new URL(c.req.url);
      url.searchParams.set('cursor', encodeCursor(page.next));
      next = `${url.pathname}${url.search}`;
    }
    for (const alarm of page.alarms) if (alarm.patientId) op.patients.add(alarm.patientId);
    return c.json({ alarms: page.alarms.map(publicAlarm), total, next });
  });

  app.get('/:gatewayId/:alarmId', async (c) => {
    const gatewayId = c.req.param('gatewayId');
    const alarmId = c.req.param('alarmId');
    queryOf(c, []);
    const access = accessOf(c);
    access.require('Flag', 'read');
    const op = access.record('read', `alarms/${gatewayId}/${alarmId}`);
    const found = await readAlarm(db, gatewayId, alarmId);
    const visibleTo = access.visibleTo();
    const patientId = found?.alarm.patientId;
    if (
      found &&
      visibleTo &&
      !(patientId ? visibleTo.patientIds.includes(patientId) : visibleTo.wards.includes(gatewayId))
    )
      throw access.deny('no care relationship with the patient of this alarm');
    if (patientId) op.patients.add(patientId);
    if (!found) {
      throw new AlarmApiError(
        404,
        'not_found',
        `alarm "${alarmId}" of gateway "${gatewayId}" is not known`,
      );
    }
    return c.json({ ...publicAlarm(found.alarm), transitions: found.transitions });
  });

  // A catch-all route, not notFound: a sub-app's notFound is not used once it is mounted.
  app.all('/*', (c) =>
    errorJson(
      c,
      404,
      'not_found',
      `no alarms route for ${c.req.method} ${new URL(c.req.url).pathname}`,
    ),
  );
  app.onError((error, c) => {
    if (error instanceof AlarmApiError)
      return errorJson(c, error.status, error.code, error.message);
    if (error instanceof AccessDenied) return errorJson(c, 403, error.code, error.message);
    // The FHIR search helpers (date parsing) report bad values as FhirError.
    if (error instanceof FhirError)
      return errorJson(c, error.status, 'invalid_parameter', error.message);
    console.error(
      'alarms: request failed',
      c.req.method,
      new URL(c.req.url).pathname,
      errorForLog(error),
    );
    return errorJson(c, 500, 'internal_error', 'Internal server error');
  });
  return app;
}

function errorJson(c: Context, status: ContentfulStatusCode, code: string, message: string) {
  return c.json({ error: { code, message } }, status);
}

/** The alarm as the API shows it (without the internal receive time). */
function publicAlarm(alarm: Alarm) {
  const { updatedAt: _, ...rest } = alarm;
  return rest;
}

/** The query parameters, each at most once and only the known ones; empty values are ignored. */
function queryOf(c: Context, known: readonly string[]): Map<string, string> {
  const query = new Map<string, string>();
  for (const [name, value] of new URL(c.req.url).searchParams) {
    if (!known.includes(name)) {
      const supported = known.length > 0 ? ` (supported: ${known.join(', ')})` : '';
      throw badParam(name, `unknown parameter${supported}`);
    }
    if (query.has(name)) throw badParam(name, 'may appear only once');
    if (value !== '') query.set(name, value);
  }
  return query;
}

function badParam(name: string, problem: string): AlarmApiError {
  return new AlarmApiError(400, 'invalid_parameter', `parameter "${name}": ${problem}`);
}

function placeFilter(query: Map<string, string>): AlarmFilter {
  const patient = query.get('patient');
  return {
    gatewayId: query.get('gateway'),
    bedId: query.get('bed'),
    ...(patient !== undefined && { patientIds: [patient] }),
  };
}

/** `from` is the start of its value's range, `to` the end (to=2024-03-30 includes that day). */
function rangeOf(from: string | undefined, to: string | undefined): AlarmFilter {
  const instant = (name: string, value: string) => {
    if (/^[a-z]/.test(value)) throw badParam(name, `"${value}" is not a date (no prefixes here)`);
    return parseDate(name, value);
  };
  const range: AlarmFilter = {};
  if (from !== undefined) range.raisedFrom = instant('from', from).start;
  if (to !== undefined) range.raisedBefore = instant('to', to).end;
  if (range.raisedFrom !== undefined && range.raisedBefore !== undefined) {
    if (range.raisedFrom >= range.raisedBefore)
      throw badParam('to', `"${to}" is not after from "${from}"`);
  }
  return range;
}

function listOf<T extends string>(name: string, value: string, allowed: readonly T[]): T[] {
  return value.split(',').map((item) => {
    if (!(allowed as readonly string[]).includes(item)) {
      throw badParam(name, `"${item}" is not one of ${allowed.join(', ')}`);
    }
    return item as T;
  });
}

function countOf(value: string | undefined): number {
  if (value === undefined) return DEFAULT_COUNT;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_COUNT) {
    throw badParam('_count', `"${value}" is not an integer from 1 to ${MAX_COUNT}`);
  }
  return n;
}

function encodeCursor(cursor: AlarmCursor): string {
  return Buffer.from(JSON.stringify([cursor.time, cursor.gatewayId, cursor.seq])).toString(
    'base64url',
  );
}

function decodeCursor(value: string): AlarmCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    Array.isArray(parsed) &&
    parsed.length === 3 &&
    Number.isSafeInteger(parsed[0]) &&
    typeof parsed[1] === 'string' &&
    Number.isSafeInteger(parsed[2])
  ) {
    return { time: parsed[0], gatewayId: parsed[1], seq: parsed[2] };
  }
  throw badParam('cursor', 'not a cursor from a next link of this API');
}
