import type { AlarmKind, AlarmPriority, AlarmSource, AlarmTransition } from '@wardgate/shared';
import {
  and,
  asc,
  count,
  desc,
  eq,
  exists,
  gte,
  inArray,
  isNull,
  lt,
  notExists,
  or,
  type SQL,
  sql,
} from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { NOTHING } from '../db/conditions.ts';
import type { Db } from '../db/database.ts';
import { alarmEvents } from '../db/schema.ts';

/**
 * Alarms as the cloud serves them: the state of each alarm is derived from its transitions
 * (alarm_events rows, one per transition, in seq order). An alarm is known from its `raised`
 * row: lists select raised rows (by ward, bed, patient, raise time, ...) and then load the
 * transitions of just those alarms.
 */

export type AlarmEventRow = typeof alarmEvents.$inferSelect;

export interface ActorAt {
  /** Badge id / user that did it; null when the gateway did not say. */
  by: string | null;
  at: number;
}

export interface Alarm {
  gatewayId: string;
  alarmId: string;
  bedId: string;
  deviceId: string;
  /** The patient in the bed when the alarm was raised; null when the bed was empty. */
  patientId: string | null;
  condition: string;
  parameter: string | null;
  /** Current priority (escalation raises it). */
  priority: AlarmPriority;
  kind: AlarmKind;
  source: AlarmSource;
  state: 'active' | 'acknowledged' | 'cleared';
  active: boolean;
  raisedAt: number;
  /** The first acknowledgement. */
  acknowledged: ActorAt | null;
  /** The latest silence (audio paused; the gateway times it out). */
  silenced: ActorAt | null;
  escalated: boolean;
  clearedAt: number | null;
  /** The latest value / limit / message any transition carried. */
  lastValue: number | null;
  limit: number | null;
  message: string | null;
  /** When the cloud received the alarm's latest transition. */
  updatedAt: number;
}

export interface AlarmTransitionView {
  seq: number;
  transition: AlarmTransition;
  time: number;
  actor: string | null;
  value: number | null;
  priority: AlarmPriority;
  message: string | null;
}

/** Lower rank sorts first in the active list. */
export const PRIORITY_RANK: Record<AlarmPriority, number> = { high: 0, medium: 1, low: 2 };

/** The state of one alarm from all its transitions, given in seq order (at least one). */
export function deriveAlarm(transitions: readonly AlarmEventRow[]): Alarm {
  const first = transitions.find((t) => t.transition === 'raised') ?? transitions[0];
  const last = transitions[transitions.length - 1];
  if (!first || !last) throw new Error('deriveAlarm needs at least one transition');
  const ofKind = (kind: AlarmTransition) => transitions.filter((t) => t.transition === kind);
  const latest = <K extends 'value' | 'limit' | 'message'>(key: K) =>
    transitions.findLast((t) => t[key] !== null)?.[key] ?? null;
  const actorAt = (t: AlarmEventRow | undefined) => (t ? { by: t.actor, at: t.time } : null);

  const acknowledged = actorAt(ofKind('acknowledged')[0]);
  const cleared = ofKind('cleared')[0];
  const state = cleared ? 'cleared' : acknowledged ? 'acknowledged' : 'active';
  return {
    gatewayId: first.gatewayId,
    alarmId: first.alarmId,
    bedId: first.bedId,
    deviceId: first.deviceId,
    patientId: first.patientId,
    condition: first.condition,
    parameter: first.parameter,
    priority: last.priority as AlarmPriority,
    kind: first.kind as AlarmKind,
    source: first.source as AlarmSource,
    state,
    active: !cleared,
    raisedAt: first.time,
    acknowledged,
    silenced: actorAt(ofKind('silenced').at(-1)),
    escalated: ofKind('escalated').length > 0,
    clearedAt: cleared?.time ?? null,
    lastValue: latest('value'),
    limit: latest('limit'),
    message: latest('message'),
    updatedAt: Math.max(...transitions.map((t) => t.receivedAt)),
  };
}

export function transitionView(row: AlarmEventRow): AlarmTransitionView {
  return {
    seq: row.seq,
    transition: row.transition as AlarmTransition,
    time: row.time,
    actor: row.actor,
    value: row.value,
    priority: row.priority as AlarmPriority,
    message: row.message,
  };
}

/** The `raised` row of each alarm; callers may add conditions on its columns. */
export const raisedEvent = alias(alarmEvents, 'raised');

export interface AlarmFilter {
  gatewayId?: string;
  bedId?: string;
  patientIds?: readonly string[];
  /** Current priority (after escalation). */
  priorities?: readonly AlarmPriority[];
  kinds?: readonly AlarmKind[];
  /** true: not cleared; false: cleared. */
  active?: boolean;
  /** Raised at or after this instant (epoch ms). */
  raisedFrom?: number;
  /** Raised before this instant (epoch ms). */
  raisedBefore?: number;
  /**
   * Authorization: only alarms of these patients, or of no patient on these wards (gateways).
   * Absent: every alarm.
   */
  visibleTo?: { patientIds: readonly string[]; wards: readonly string[] };
  /** Further conditions on `raisedEvent`, ANDed. */
  where?: readonly SQL[];
}

export function alarmWhere(db: Db, filter: AlarmFilter): SQL | undefined {
  const r = raisedEvent;
  const conditions: (SQL | undefined)[] = [eq(r.transition, 'raised')];
  if (filter.gatewayId !== undefined) conditions.push(eq(r.gatewayId, filter.gatewayId));
  if (filter.bedId !== undefined) conditions.push(eq(r.bedId, filter.bedId));
  if (filter.patientIds) conditions.push(inArrayOrNothing(r.patientId, filter.patientIds));
  if (filter.kinds) conditions.push(inArrayOrNothing(r.kind, filter.kinds));
  if (filter.visibleTo)
    conditions.push(
      or(
        inArrayOrNothing(r.patientId, filter.visibleTo.patientIds),
        and(isNull(r.patientId), inArrayOrNothing(r.gatewayId, filter.visibleTo.wards)),
      ),
    );
  if (filter.raisedFrom !== undefined) conditions.push(gte(r.time, filter.raisedFrom));
  if (filter.raisedBefore !== undefined) conditions.push(lt(r.time, filter.raisedBefore));
  if (filter.active !== undefined) conditions.push(activeCondition(db, filter.active));
  if (filter.priorities) {
    const current = sameAlarm(db).orderBy(desc(alarmEvents.seq)).limit(1);
    conditions.push(inArrayOrNothing(sql`(${current})`, filter.priorities));
  }
  conditions.push(...(filter.where ?? []));
  return and(...conditions);
}

/** The raised row's alarm is (true) or is not (false) active: it has no `cleared` transition. */
export function activeCondition(db: Db, active: boolean): SQL {
  const cleared = sameAlarm(db, eq(alarmEvents.transition, 'cleared'));
  return active ? notExists(cleared) : exists(cleared);
}

/** The transitions (priority column) of the raised row's alarm, for correlated subqueries. */
function sameAlarm(db: Db, condition?: SQL) {
  return db
    .select({ priority: alarmEvents.priority })
    .from(alarmEvents)
    .where(
      and(
        eq(alarmEvents.gatewayId, raisedEvent.gatewayId),
        eq(alarmEvents.alarmId, raisedEvent.alarmId),
        condition,
      ),
    );
}

function inArrayOrNothing(column: Parameters<typeof inArray>[0], values: readonly string[]): SQL {
  return values.length > 0 ? inArray(column, [...values]) : NOTHING;
}

/** Newest raised first, or oldest first; (gateway, seq) makes the order total. */
export type AlarmOrder = 'newest' | 'oldest';

/** Keyset position of an alarm: its raised row's (time, gateway, seq). */
export interface AlarmCursor {
  time: number;
  gatewayId: string;
  seq: number;
}

export interface AlarmPage {
  order: AlarmOrder;
  limit: number;
  offset?: number;
  /** The alarms after this one in `order`. */
  after?: AlarmCursor;
}

export interface AlarmPageResult {
  alarms: Alarm[];
  /** Position of the last alarm of a full page (more may follow), else undefined. */
  next?: AlarmCursor;
}

export async function findAlarms(
  db: Db,
  filter: AlarmFilter,
  page: AlarmPage,
): Promise<AlarmPageResult> {
  const r = raisedEvent;
  const direction = page.order === 'newest' ? desc : asc;
  const conditions = [alarmWhere(db, filter)];
  if (page.after) {
    const { time, gatewayId, seq } = page.after;
    const beyond = page.order === 'newest' ? sql`<` : sql`>`;
    conditions.push(
      sql`(${r.time}, ${r.gatewayId}, ${r.seq}) ${beyond} (${time}, ${gatewayId}, ${seq})`,
    );
  }
  const raisedRows = await db
    .select()
    .from(r)
    .where(and(...conditions))
    .orderBy(direction(r.time), direction(r.gatewayId), direction(r.seq))
    .limit(page.limit)
    .offset(page.offset ?? 0);
  const alarms = await loadAlarms(db, raisedRows);
  const last = raisedRows.at(-1);
  const result: AlarmPageResult = { alarms };
  if (last && raisedRows.length === page.limit) {
    result.next = { time: last.time, gatewayId: last.gatewayId, seq: last.seq };
  }
  return result;
}

export async function countAlarms(db: Db, filter: AlarmFilter): Promise<number> {
  const [{ total }] = await db
    .select({ total: count() })
    .from(raisedEvent)
    .where(alarmWhere(db, filter));
  return total;
}

/** Alarms not cleared, highest priority first, then the most recently raised first. */
export async function activeAlarms(
  db: Db,
  filter: Pick<AlarmFilter, 'gatewayId' | 'bedId' | 'patientIds' | 'visibleTo'>,
): Promise<Alarm[]> {
  const raisedRows = await db
    .select()
    .from(raisedEvent)
    .where(alarmWhere(db, { ...filter, active: true }));
  const alarms = await loadAlarms(db, raisedRows);
  return alarms.sort(
    (a, b) =>
      PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] ||
      b.raisedAt - a.raisedAt ||
      a.gatewayId.localeCompare(b.gatewayId) ||
      a.alarmId.localeCompare(b.alarmId),
  );
}

export async function readAlarm(
  db: Db,
  gatewayId: string,
  alarmId: string,
): Promise<{ alarm: Alarm; transitions: AlarmTransitionView[] } | undefined> {
  const rows = await db
    .select()
    .from(alarmEvents)
    .where(and(eq(alarmEvents.gatewayId, gatewayId), eq(alarmEvents.alarmId, alarmId)))
    .orderBy(asc(alarmEvents.seq));
  if (rows.length === 0) return undefined;
  return { alarm: deriveAlarm(rows), transitions: rows.map(transitionView) };
}

/** The alarms of the given raised rows, in their order, from all their transitions. */
export async function loadAlarms(
  db: Db,
  raisedRows: readonly Pick<AlarmEventRow, 'gatewayId' | 'alarmId'>[],
): Promise<Alarm[]> {
  if (raisedRows.length === 0) return [];
  const idsByGateway = new Map<string, Set<string>>();
  for (const { gatewayId, alarmId } of raisedRows) {
    const ids = idsByGateway.get(gatewayId) ?? new Set();
    ids.add(alarmId);
    idsByGateway.set(gatewayId, ids);
  }
  const perGateway = [...idsByGateway].map(([gatewayId, ids]) =>
    and(eq(alarmEvents.gatewayId, gatewayId), inArray(alarmEvents.alarmId, [...ids])),
  );
  const rows = await db
    .select()
    .from(alarmEvents)
    .where(
      sql.join(
        perGateway.map((c) => sql`(${c})`),
        sql` or `,
      ),
    )
    .orderBy(asc(alarmEvents.gatewayId), asc(alarmEvents.seq));
  const byAlarm = new Map<string, AlarmEventRow[]>();
  for (const row of rows) {
    const key = alarmKey(row);
    const list = byAlarm.get(key) ?? [];
    list.push(row);
    byAlarm.set(key, list);
  }
  return raisedRows.flatMap((r) => {
    const transitions = byAlarm.get(alarmKey(r));
    return transitions ? [deriveAlarm(transitions)] : [];
  });
}

function alarmKey(row: Pick<AlarmEventRow, 'gatewayId' | 'alarmId'>): string {
  return `${row.gatewayId}\u0000${row.alarmId}`;
}
