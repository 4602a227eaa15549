import { and, asc, gte, inArray, lt, ne, or, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { auditLog } from '../db/schema.ts';
import { zoneOffsetAt } from '../time/zoned-time.ts';
import { PHI_ACTIONS } from './audit-event.ts';
import { isoOf, type Period } from './period.ts';

export interface WorkingHours {
  /** Minutes after local midnight the working day starts and ends ([start, end)). */
  startMinute: number;
  endMinute: number;
  /** Working weekdays, 0 = Sunday … 6 = Saturday. */
  days: number[];
  /** IANA time zone the hours are in. */
  timeZone: string;
}

export interface IncidentRules {
  /** This many failed sign-ins (password, MFA, client token) for one username, or from one address, within the window. */
  failedLogins: { threshold: number; windowMinutes: number };
  /** One user touching this many distinct patients within the window. */
  manyPatients: { threshold: number; windowMinutes: number };
  /** PHI accessed outside these hours is reported (null: not checked). Accesses less than `mergeMinutes` apart are one incident. */
  workingHours: (WorkingHours & { mergeMinutes: number }) | null;
}

/**
 * Defaults: 5 failures in 15 minutes (the lockout rule); 50 patients in an hour (a busy ward
 * round reaches 20–30); working hours 07:00–19:00 UTC every day.
 */
export const DEFAULT_INCIDENT_RULES: IncidentRules = {
  failedLogins: { threshold: 5, windowMinutes: 15 },
  manyPatients: { threshold: 50, windowMinutes: 60 },
  workingHours: {
    startMinute: 7 * 60,
    endMinute: 19 * 60,
    days: [0, 1, 2, 3, 4, 5, 6],
    timeZone: 'UTC',
    mergeMinutes: 60,
  },
};

export type IncidentKind =
  | 'failed-logins-user'
  | 'failed-logins-ip'
  | 'lockout'
  | 'many-patients'
  | 'after-hours'
  | 'break-glass';

export interface Incident {
  kind: IncidentKind;
  severity: 'high' | 'medium' | 'low';
  from: string;
  to: string;
  /** Who: a user or client id (a username tried, for failed sign-ins) and role. */
  actor?: { id: string | null; role: string | null };
  /** The username tried, or the source address, a failed-logins incident is about. */
  username?: string;
  ip?: string;
  /** Audit records involved. */
  events: number;
  /** Distinct patients involved (many-patients, after-hours, break-glass). */
  patients?: number;
  /** The first and last audit records of the incident (evidence, e.g. AuditEvent/audit-<seq>). */
  firstSeq: number;
  lastSeq: number;
  message: string;
}

export function incidentRules(overrides: Partial<IncidentRules> = {}): IncidentRules {
  const rules = { ...DEFAULT_INCIDENT_RULES, ...overrides };
  for (const [name, rule] of [
    ['failedLogins', rules.failedLogins],
    ['manyPatients', rules.manyPatients],
  ] as const)
    if (!(rule.threshold >= 1 && rule.windowMinutes > 0))
      throw new RangeError(`${name}: threshold must be at least 1 and windowMinutes positive`);
  const hours = rules.workingHours;
  if (hours) {
    const minute = (m: number) => Number.isInteger(m) && m >= 0 && m <= 1440;
    if (!minute(hours.startMinute) || !minute(hours.endMinute))
      throw new RangeError(
        'workingHours: startMinute and endMinute are minutes of the day (0-1440)',
      );
    if (hours.days.some((d) => !Number.isInteger(d) || d < 0 || d > 6))
      throw new RangeError('workingHours: days are 0 (Sunday) to 6 (Saturday)');
    new Intl.DateTimeFormat('en', { timeZone: hours.timeZone }); // RangeError for an unknown zone
  }
  return rules;
}

const MINUTE = 60_000;
const PAGE = 5000;
const SIGN_IN_ACTIONS = ['login', 'mfa', 'token'];

/** Security incidents found in the audit log for `period`, oldest first. */
export async function detectIncidents(
  db: Db,
  period: Period,
  rules: IncidentRules = DEFAULT_INCIDENT_RULES,
): Promise<Incident[]> {
  const incidents = [
    ...(await failedSignIns(db, period, rules.failedLogins)),
    ...(await alerts(db, period)),
    ...(await patientAccessIncidents(db, period, rules)),
  ];
  return incidents.sort((a, b) => a.from.localeCompare(b.from) || a.firstSeq - b.firstSeq);
}

interface Hit {
  seq: number;
  at: number;
}

/**
 * Runs of at least `threshold` hits within `windowMs`, overlapping runs merged; only runs that
 * reach the threshold inside `period`.
 */
function bursts(hits: Hit[], threshold: number, windowMs: number, period: Period) {
  const out: { first: Hit; last: Hit; count: number }[] = [];
  let start = 0;
  let open: { firstIndex: number; lastIndex: number } | undefined;
  for (let i = 0; i < hits.length; i++) {
    while (hits[i].at - hits[start].at > windowMs) start++;
    if (i - start + 1 < threshold || hits[i].at < period.from) continue;
    if (open && start <= open.lastIndex) open.lastIndex = i;
    else {
      if (open) out.push(run(hits, open));
      open = { firstIndex: start, lastIndex: i };
    }
  }
  if (open) out.push(run(hits, open));
  return out;
}

const run = (hits: Hit[], r: { firstIndex: number; lastIndex: number }) => ({
  first: hits[r.firstIndex],
  last: hits[r.lastIndex],
  count: r.lastIndex - r.firstIndex + 1,
});

async function failedSignIns(
  db: Db,
  period: Period,
  rule: IncidentRules['failedLogins'],
): Promise<Incident[]> {
  const windowMs = rule.windowMinutes * MINUTE;
  const rows = await db
    .select({
      seq: auditLog.seq,
      at: auditLog.recordedAt,
      username: sql<
        string | null
      >`coalesce(${auditLog.event} #>> '{agent,0,name}', ${auditLog.actorId})`,
      ip: sql<string | null>`${auditLog.event} #>> '{agent,0,network,address}'`,
    })
    .from(auditLog)
    .where(
      and(
        gte(auditLog.recordedAt, period.from - windowMs),
        lt(auditLog.recordedAt, period.to),
        inArray(auditLog.action, SIGN_IN_ACTIONS),
        ne(auditLog.outcome, 'success'),
      ),
    )
    .orderBy(asc(auditLog.recordedAt), asc(auditLog.seq));
  const incidents: Incident[] = [];
  for (const [kind, keyOf] of [
    ['failed-logins-user', (r: (typeof rows)[number]) => r.username],
    ['failed-logins-ip', (r: (typeof rows)[number]) => r.ip],
  ] as const) {
    const byKey = new Map<string, Hit[]>();
    for (const r of rows) {
      const key = keyOf(r);
      if (!key) continue;
      const list = byKey.get(key) ?? [];
      list.push({ seq: r.seq, at: r.at });
      byKey.set(key, list);
    }
    for (const [key, hits] of byKey)
      for (const b of bursts(hits, rule.threshold, windowMs, period)) {
        const who = kind === 'failed-logins-user' ? { username: key } : { ip: key };
        incidents.push({
          kind,
          severity: 'medium',
          from: isoOf(b.first.at),
          to: isoOf(b.last.at),
          ...who,
          events: b.count,
          firstSeq: b.first.seq,
          lastSeq: b.last.seq,
          message: `${b.count} failed sign-ins ${kind === 'failed-logins-user' ? 'for one username' : 'from one address'} (threshold ${rule.threshold} in ${rule.windowMinutes} min)`,
        });
      }
  }
  return incidents;
}

/** Every lockout and every break-the-glass access is an incident of its own. */
async function alerts(db: Db, period: Period): Promise<Incident[]> {
  const rows = await db
    .select({
      seq: auditLog.seq,
      at: auditLog.recordedAt,
      action: auditLog.action,
      actorId: auditLog.actorId,
      actorRole: auditLog.actorRole,
      patientIds: auditLog.patientIds,
      username: sql<string | null>`${auditLog.event} #>> '{agent,0,name}'`,
      ip: sql<string | null>`${auditLog.event} #>> '{agent,0,network,address}'`,
    })
    .from(auditLog)
    .where(
      and(
        gte(auditLog.recordedAt, period.from),
        lt(auditLog.recordedAt, period.to),
        or(
          sql`${auditLog.action} = 'lockout'`,
          sql`${auditLog.action} = 'break-glass' and ${auditLog.outcome} = 'success'`,
        ),
      ),
    )
    .orderBy(asc(auditLog.recordedAt), asc(auditLog.seq));
  return rows.map((r): Incident => {
    const base = {
      from: isoOf(r.at),
      to: isoOf(r.at),
      actor: { id: r.actorId, role: r.actorRole },
      ...(r.ip ? { ip: r.ip } : {}),
      events: 1,
      firstSeq: r.seq,
      lastSeq: r.seq,
    };
    return r.action === 'lockout'
      ? {
          kind: 'lockout',
          severity: 'medium',
          ...base,
          ...(r.username ? { username: r.username } : {}),
          message: 'an account was locked after repeated failed sign-ins',
        }
      : {
          kind: 'break-glass',
          severity: 'high',
          ...base,
          patients: new Set(r.patientIds).size,
          message: 'emergency (break-the-glass) access to a patient outside the care relationship',
        };
  });
}

/** Local minute of the day and weekday of an instant, with the zone offset cached per hour. */
function localClock(timeZone: string) {
  const offsets = new Map<number, number>();
  const offsetAt = (at: number) => {
    const hour = Math.floor(at / 3_600_000);
    let offset = offsets.get(hour);
    if (offset === undefined) {
      offset = zoneOffsetAt(hour * 3_600_000, timeZone);
      offsets.set(hour, offset);
    }
    return offset;
  };
  return (at: number) => {
    const local = at + offsetAt(at);
    const day = Math.floor(local / 86_400_000);
    return {
      minute: Math.floor((local - day * 86_400_000) / MINUTE),
      weekday: (((day + 4) % 7) + 7) % 7, // 1970-01-01 was a Thursday
    };
  };
}

interface ActorWindow {
  /** Patient touches in the sliding window, oldest first. */
  touches: { at: number; seq: number; patient: string }[];
  head: number;
  counts: Map<string, number>;
  burst?: { first: Hit; last: Hit; events: number; patients: Set<string> };
  night?: { first: Hit; last: Hit; events: number; patients: Set<string> };
}

/**
 * One pass over the successful PHI accesses of the period, in time order and a page at a time:
 * per actor, a sliding window of the distinct patients touched (many-patients) and the runs of
 * accesses outside working hours (after-hours).
 */
async function patientAccessIncidents(
  db: Db,
  period: Period,
  rules: IncidentRules,
): Promise<Incident[]> {
  const windowMs = rules.manyPatients.windowMinutes * MINUTE;
  const threshold = rules.manyPatients.threshold;
  const hours = rules.workingHours;
  const clock = hours ? localClock(hours.timeZone) : undefined;
  const offHours = (at: number) => {
    if (!hours || !clock) return false;
    const { minute, weekday } = clock(at);
    if (!hours.days.includes(weekday)) return true;
    return hours.startMinute <= hours.endMinute
      ? minute < hours.startMinute || minute >= hours.endMinute
      : minute < hours.startMinute && minute >= hours.endMinute; // a night shift's hours
  };
  const incidents: Incident[] = [];
  const actors = new Map<string, ActorWindow & { id: string | null; role: string | null }>();

  const closeBurst = (a: ActorWindow & { id: string | null; role: string | null }) => {
    const b = a.burst;
    if (!b) return;
    a.burst = undefined;
    incidents.push({
      kind: 'many-patients',
      severity: 'high',
      from: isoOf(b.first.at),
      to: isoOf(b.last.at),
      actor: { id: a.id, role: a.role },
      events: b.events,
      patients: b.patients.size,
      firstSeq: b.first.seq,
      lastSeq: b.last.seq,
      message: `${b.patients.size} distinct patients' records touched (threshold ${threshold} in ${rules.manyPatients.windowMinutes} min)`,
    });
  };
  const closeNight = (a: ActorWindow & { id: string | null; role: string | null }) => {
    const n = a.night;
    if (!n) return;
    a.night = undefined;
    incidents.push({
      kind: 'after-hours',
      severity: 'low',
      from: isoOf(n.first.at),
      to: isoOf(n.last.at),
      actor: { id: a.id, role: a.role },
      events: n.events,
      patients: n.patients.size,
      firstSeq: n.first.seq,
      lastSeq: n.last.seq,
      message: `${n.events} access(es) to patient records outside working hours`,
    });
  };

  let after: { at: number; seq: number } = { at: period.from - windowMs, seq: 0 };
  for (;;) {
    const rows = await db
      .select({
        seq: auditLog.seq,
        at: auditLog.recordedAt,
        actorId: auditLog.actorId,
        actorRole: auditLog.actorRole,
        patientIds: auditLog.patientIds,
      })
      .from(auditLog)
      .where(
        and(
          sql`(${auditLog.recordedAt}, ${auditLog.seq}) > (${after.at}, ${after.seq})`,
          gte(auditLog.recordedAt, period.from - windowMs),
          lt(auditLog.recordedAt, period.to),
          inArray(auditLog.action, [...PHI_ACTIONS]),
          sql`${auditLog.outcome} = 'success'`,
          sql`cardinality(${auditLog.patientIds}) > 0`,
        ),
      )
      .orderBy(asc(auditLog.recordedAt), asc(auditLog.seq))
      .limit(PAGE);
    for (const row of rows) {
      const key = JSON.stringify([row.actorId, row.actorRole]);
      let a = actors.get(key);
      if (!a) {
        a = { id: row.actorId, role: row.actorRole, touches: [], head: 0, counts: new Map() };
        actors.set(key, a);
      }
      const hit = { seq: row.seq, at: row.at };
      // many-patients: slide the window to end at this access.
      for (const patient of row.patientIds) {
        a.touches.push({ at: row.at, seq: row.seq, patient });
        a.counts.set(patient, (a.counts.get(patient) ?? 0) + 1);
      }
      while (a.head < a.touches.length && row.at - a.touches[a.head].at > windowMs) {
        const old = a.touches[a.head++];
        const left = (a.counts.get(old.patient) ?? 1) - 1;
        if (left === 0) a.counts.delete(old.patient);
        else a.counts.set(old.patient, left);
      }
      if (a.head > 4096) {
        a.touches = a.touches.slice(a.head);
        a.head = 0;
      }
      const inPeriod = row.at >= period.from;
      if (inPeriod && a.counts.size >= threshold) {
        if (a.burst) {
          a.burst.last = hit;
          a.burst.events++;
          for (const p of row.patientIds) a.burst.patients.add(p);
        } else {
          // The burst starts with the window that reached the threshold.
          const window = a.touches.slice(a.head);
          a.burst = {
            first: { seq: window[0].seq, at: window[0].at },
            last: hit,
            events: new Set(window.map((t) => t.seq)).size,
            patients: new Set(window.map((t) => t.patient)),
          };
        }
      } else if (a.burst && row.at - a.burst.last.at > windowMs) closeBurst(a);
      // after-hours: runs of accesses outside working hours.
      if (inPeriod && offHours(row.at)) {
        if (a.night && row.at - a.night.last.at > (hours?.mergeMinutes ?? 0) * MINUTE)
          closeNight(a);
        a.night ??= { first: hit, last: hit, events: 0, patients: new Set() };
        a.night.last = hit;
        a.night.events++;
        for (const p of row.patientIds) a.night.patients.add(p);
      } else if (inPeriod && a.night) closeNight(a);
    }
    if (rows.length < PAGE) break;
    const last = rows[rows.length - 1];
    after = { at: last.at, seq: last.seq };
  }
  for (const a of actors.values()) {
    closeBurst(a);
    closeNight(a);
  }
  return incidents;
}
