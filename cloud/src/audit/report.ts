import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { isoOf, type Period } from './period.ts';

export interface UserActivity {
  /** The user or client id (a failed sign-in: the username tried; null when none was given). */
  id: string | null;
  /** The role, `client`, `system` or `anonymous`. */
  role: string | null;
  events: number;
  byAction: Record<string, number>;
  byOutcome: Record<string, number>;
  uniquePatients: number;
  firstAt: string;
  lastAt: string;
}

export interface ActivityReport {
  period: { from: string; to: string };
  user: string | null;
  totals: {
    events: number;
    byAction: Record<string, number>;
    byOutcome: Record<string, number>;
    /** `read` → { success: 10, denied: 1 }. */
    byActionAndOutcome: Record<string, Record<string, number>>;
    /** Distinct patients whose records were touched. */
    uniquePatients: number;
    /** Distinct actors (users, clients, usernames tried). */
    actors: number;
  };
  /** Per actor, most events first. */
  users: UserActivity[];
}

const add = (counts: Record<string, number>, key: string, n: number) => {
  counts[key] = (counts[key] ?? 0) + n;
};

function rangeOf(period: Period, user?: string): SQL {
  return sql`recorded_at >= ${period.from} and recorded_at < ${period.to}${
    user === undefined ? sql`` : sql` and actor_id = ${user}`
  }`;
}

/** What happened in `period` (optionally by one user): totals, per user, patients touched. */
export async function activityReport(
  db: Db,
  period: Period,
  user?: string,
): Promise<ActivityReport> {
  const where = rangeOf(period, user);
  const [groups, patients, perUserPatients] = await Promise.all([
    db.execute(sql`select actor_id, actor_role, action, outcome, count(*)::int as n,
        min(recorded_at) as first_at, max(recorded_at) as last_at
      from audit_log where ${where} group by actor_id, actor_role, action, outcome`),
    db.execute(sql`select count(distinct p)::int as n
      from audit_log, unnest(patient_ids) as p where ${where}`),
    db.execute(sql`select actor_id, actor_role, count(distinct p)::int as n
      from audit_log, unnest(patient_ids) as p where ${where} group by actor_id, actor_role`),
  ]);

  const totals: ActivityReport['totals'] = {
    events: 0,
    byAction: {},
    byOutcome: {},
    byActionAndOutcome: {},
    uniquePatients: 0,
    actors: 0,
  };
  const byActor = new Map<string, UserActivity & { first: number; last: number }>();
  const keyOf = (id: string | null, role: string | null) => JSON.stringify([id, role]);
  for (const g of rowsOf<{
    actor_id: string | null;
    actor_role: string | null;
    action: string;
    outcome: string;
    n: number;
    first_at: string | number;
    last_at: string | number;
  }>(groups)) {
    totals.events += g.n;
    add(totals.byAction, g.action, g.n);
    add(totals.byOutcome, g.outcome, g.n);
    totals.byActionAndOutcome[g.action] ??= {};
    add(totals.byActionAndOutcome[g.action], g.outcome, g.n);
    const key = keyOf(g.actor_id, g.actor_role);
    let actor = byActor.get(key);
    if (!actor) {
      actor = {
        id: g.actor_id,
        role: g.actor_role,
        events: 0,
        byAction: {},
        byOutcome: {},
        uniquePatients: 0,
        first: Number(g.first_at),
        last: Number(g.last_at),
        firstAt: '',
        lastAt: '',
      };
      byActor.set(key, actor);
    }
    actor.events += g.n;
    add(actor.byAction, g.action, g.n);
    add(actor.byOutcome, g.outcome, g.n);
    actor.first = Math.min(actor.first, Number(g.first_at));
    actor.last = Math.max(actor.last, Number(g.last_at));
  }
  totals.uniquePatients = rowsOf<{ n: number }>(patients)[0]?.n ?? 0;
  for (const p of rowsOf<{ actor_id: string | null; actor_role: string | null; n: number }>(
    perUserPatients,
  )) {
    const actor = byActor.get(keyOf(p.actor_id, p.actor_role));
    if (actor) actor.uniquePatients = p.n;
  }
  totals.actors = byActor.size;
  const users = [...byActor.values()]
    .map(({ first, last, ...actor }) => ({ ...actor, firstAt: isoOf(first), lastAt: isoOf(last) }))
    .sort((a, b) => b.events - a.events || String(a.id).localeCompare(String(b.id)));
  return {
    period: { from: isoOf(period.from), to: isoOf(period.to) },
    user: user ?? null,
    totals,
    users,
  };
}
