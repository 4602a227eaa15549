import { and, desc, isNotNull, isNull, sql } from 'drizzle-orm';
import { ROLE_POLICIES } from '../access/roles.ts';
import { isRole } from '../auth/principal.ts';
import { keyRingOf } from '../crypto/db-key-ring.ts';
import { BREAK_GLASS_REASON } from '../crypto/sealed-text.ts';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { apiClients, backupRuns, breakGlassAccess } from '../db/schema.ts';
import { PHI_ACTIONS, WRITE_ACTIONS } from './audit-event.ts';
import { DAY_MS, isoOf } from './period.ts';

export interface AccessReviewRules {
  /** An account with no sign-in for this long is stale (default 90 days). */
  staleDays: number;
  /** HIPAA training older than this has expired (default 365 days). */
  trainingValidDays: number;
  /** How far back use of a privilege is looked for (default 90 days). */
  usageDays: number;
  /** A verified backup older than this is reported stale (default 2 days). */
  backupMaxAgeDays: number;
  /** Whether a role may create, update or delete records (default: the access policies). */
  canWrite: (role: string) => boolean;
}

export const DEFAULT_ACCESS_REVIEW: AccessReviewRules = {
  staleDays: 90,
  trainingValidDays: 365,
  usageDays: 90,
  backupMaxAgeDays: 2,
  canWrite: (role) =>
    isRole(role) && Object.values(ROLE_POLICIES[role].grants).some((g) => g === 'rw'),
};

export interface StaleAccount {
  userId: string;
  username: string;
  role: string;
  createdAt: string;
  /** Last sign-in or session activity; null: never signed in. */
  lastActivityAt: string | null;
  reason: 'never-signed-in' | 'inactive';
}

export interface TrainingFinding {
  userId: string;
  username: string;
  role: string;
  trainingCompletedAt: string | null;
  status: 'missing' | 'expired';
}

export type UnusedPrivilege =
  | {
      kind: 'user';
      userId: string;
      username: string;
      role: string;
      privilege: 'write';
      message: string;
    }
  | {
      kind: 'client';
      clientId: string;
      name: string;
      unusedScopes: string[];
      message: string;
    };

export interface OpenBreakGlass {
  id: string;
  userId: string;
  patientId: string;
  reason: string;
  startedAt: string;
  expiresAt: string;
  /** Still in force now. */
  active: boolean;
}

export interface AccessReview {
  asOf: string;
  staleAccounts: StaleAccount[];
  training: TrainingFinding[];
  unusedPrivileges: UnusedPrivilege[];
  /** Break-the-glass accesses nobody has reviewed yet. */
  openBreakGlass: OpenBreakGlass[];
}

/** The review of who holds access: accounts, training, privileges never used, emergencies. */
export async function accessReview(
  db: Db,
  now: number,
  rules: AccessReviewRules = DEFAULT_ACCESS_REVIEW,
): Promise<AccessReview> {
  const usageSince = now - rules.usageDays * DAY_MS;
  const [accounts, writers, clients, clientUse, breakGlass] = await Promise.all([
    db.execute(sql`select u.id, u.username, u.role, u.created_at, u.training_completed_at,
        greatest(u.last_login_at, s.last_seen) as last_activity
      from users u
      left join (select user_id, max(last_seen_at) as last_seen from sessions group by user_id) s
        on s.user_id = u.id
      where u.disabled_at is null
      order by u.username`),
    db.execute(sql`select distinct actor_id from audit_log
      where recorded_at >= ${usageSince} and outcome = 'success'
        and action in (${sql.join(
          WRITE_ACTIONS.map((a) => sql`${a}`),
          sql`, `,
        )}) and actor_role not in ('client', 'system', 'anonymous')`),
    db.select().from(apiClients).where(isNull(apiClients.revokedAt)).orderBy(apiClients.id),
    // What each client did, on which resource type: the object entity's type, else Patient.
    db.execute(sql`select distinct actor_id, action, coalesce(
        (select e -> 'what' ->> 'type' from jsonb_array_elements(event -> 'entity') e
          where e -> 'role' ->> 'code' in ('4', '24') limit 1),
        case when event -> 'entity' @> '[{"role": {"code": "1"}}]' then 'Patient' end) as type
      from audit_log
      where actor_role = 'client' and recorded_at >= ${usageSince} and outcome = 'success'
        and action in (${sql.join(
          PHI_ACTIONS.map((a) => sql`${a}`),
          sql`, `,
        )})`),
    db
      .select()
      .from(breakGlassAccess)
      .where(isNull(breakGlassAccess.reviewedAt))
      .orderBy(breakGlassAccess.startedAt),
  ]);

  const staleBefore = now - rules.staleDays * DAY_MS;
  const trainingBefore = now - rules.trainingValidDays * DAY_MS;
  const wrote = new Set(rowsOf<{ actor_id: string }>(writers).map((r) => r.actor_id));
  const staleAccounts: StaleAccount[] = [];
  const training: TrainingFinding[] = [];
  const unusedPrivileges: UnusedPrivilege[] = [];
  for (const u of rowsOf<{
    id: string;
    username: string;
    role: string;
    created_at: string | number;
    training_completed_at: string | number | null;
    last_activity: string | number | null;
  }>(accounts)) {
    const lastActivity = u.last_activity === null ? null : Number(u.last_activity);
    if (lastActivity === null || lastActivity < staleBefore)
      staleAccounts.push({
        userId: u.id,
        username: u.username,
        role: u.role,
        createdAt: isoOf(Number(u.created_at)),
        lastActivityAt: lastActivity === null ? null : isoOf(lastActivity),
        reason: lastActivity === null ? 'never-signed-in' : 'inactive',
      });
    if (u.role !== 'patient') {
      const trained = u.training_completed_at === null ? null : Number(u.training_completed_at);
      if (trained === null || trained < trainingBefore)
        training.push({
          userId: u.id,
          username: u.username,
          role: u.role,
          trainingCompletedAt: trained === null ? null : isoOf(trained),
          status: trained === null ? 'missing' : 'expired',
        });
      // Accounts younger than the usage window have not had the time to use what they hold.
      const reviewable = Number(u.created_at) <= usageSince;
      if (reviewable && rules.canWrite(u.role) && !wrote.has(u.id))
        unusedPrivileges.push({
          kind: 'user',
          userId: u.id,
          username: u.username,
          role: u.role,
          privilege: 'write',
          message: `may create, update and delete records as ${u.role} but wrote none in ${rules.usageDays} days`,
        });
    }
  }

  const used = new Map<string, { action: string; type: string | null }[]>();
  for (const r of rowsOf<{ actor_id: string; action: string; type: string | null }>(clientUse)) {
    const list = used.get(r.actor_id) ?? [];
    list.push({ action: r.action, type: r.type });
    used.set(r.actor_id, list);
  }
  for (const client of clients) {
    const uses = used.get(client.id) ?? [];
    const unusedScopes = client.scopes.filter((scope) => !uses.some((u) => scopeCovers(scope, u)));
    if (unusedScopes.length > 0)
      unusedPrivileges.push({
        kind: 'client',
        clientId: client.id,
        name: client.name,
        unusedScopes,
        message: `${unusedScopes.length} of ${client.scopes.length} scope(s) not used in ${rules.usageDays} days`,
      });
  }

  return {
    asOf: isoOf(now),
    staleAccounts,
    training,
    unusedPrivileges,
    // The reason is sealed (free text that may name the patient): opened for the reviewer.
    openBreakGlass: await Promise.all(
      breakGlass.map(async (b) => ({
        id: b.id,
        userId: b.userId,
        patientId: b.patientId,
        reason: (await BREAK_GLASS_REASON.open(keyRingOf(db), b.id, b.reason)) ?? '',
        startedAt: isoOf(b.startedAt),
        expiresAt: isoOf(b.expiresAt),
        active: b.expiresAt > now,
      })),
    ),
  };
}

const READS = new Set(['read', 'vread', 'history', 'search', 'export']);
const V2_LETTERS: Record<string, (action: string) => boolean> = {
  c: (a) => a === 'create',
  r: (a) => a === 'read' || a === 'vread' || a === 'history' || a === 'export',
  u: (a) => a === 'update',
  d: (a) => a === 'delete',
  s: (a) => a === 'search',
};

/** Was `scope` (SMART `system/<Type|*>.<read|write|*|cruds>`) exercised by this use? */
function scopeCovers(scope: string, use: { action: string; type: string | null }): boolean {
  const m = /^system\/([A-Z][A-Za-z]*|\*)\.(read|write|\*|[cruds]+)$/.exec(scope);
  if (!m || use.type === null) return false;
  if (m[1] !== '*' && m[1] !== use.type) return false;
  const mode = m[2];
  if (mode === '*') return true;
  if (mode === 'read') return READS.has(use.action);
  if (mode === 'write') return !READS.has(use.action);
  return [...mode].some((letter) => V2_LETTERS[letter]?.(use.action));
}

export interface BackupStatus {
  status: 'ok' | 'stale' | 'none';
  /** The newest backup whose restore was verified identical. */
  lastVerified: {
    id: string;
    startedAt: string;
    verifiedAt: string;
    bytes: number | null;
    sha256: string | null;
  } | null;
  /** The newest backup run of any outcome (a failure shows here first). */
  lastRun: { id: string; startedAt: string; finished: boolean; error: string | null } | null;
  message: string;
}

/** The last verified backup from backup_runs, and whether it is recent enough. */
export async function backupStatus(
  db: Db,
  now: number,
  rules: Pick<AccessReviewRules, 'backupMaxAgeDays'> = DEFAULT_ACCESS_REVIEW,
): Promise<BackupStatus> {
  const [[verified], [last]] = await Promise.all([
    db
      .select()
      .from(backupRuns)
      .where(and(isNotNull(backupRuns.verifiedAt), isNull(backupRuns.error)))
      .orderBy(desc(backupRuns.startedAt))
      .limit(1),
    db.select().from(backupRuns).orderBy(desc(backupRuns.startedAt)).limit(1),
  ]);
  const lastRun = last
    ? {
        id: last.id,
        startedAt: isoOf(last.startedAt),
        finished: last.finishedAt !== null,
        error: last.error,
      }
    : null;
  if (!verified)
    return { status: 'none', lastVerified: null, lastRun, message: 'no verified backup' };
  const age = now - verified.startedAt;
  const stale = age > rules.backupMaxAgeDays * DAY_MS;
  return {
    status: stale ? 'stale' : 'ok',
    lastVerified: {
      id: verified.id,
      startedAt: isoOf(verified.startedAt),
      verifiedAt: isoOf(verified.verifiedAt as number),
      bytes: verified.bytes,
      sha256: verified.sha256,
    },
    lastRun,
    message: stale
      ? `the last verified backup is ${Math.floor(age / DAY_MS)} day(s) old (limit ${rules.backupMaxAgeDays})`
      : 'a recent backup was verified by a restore',
  };
}
