import { inArray, type SQL, sql } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { bedAssignments, breakGlassAccess, careAssignments } from '../db/schema.ts';
import { ROLE_POLICIES } from './roles.ts';

/**
 * The patients a principal may reach: every one (`all`), or the listed ones — the care
 * relationship, plus those opened by a break-the-glass access still running (`emergency`, so
 * every touch of theirs is audited as an emergency).
 */
export type PatientScope =
  | { all: true }
  | { all: false; patients: ReadonlySet<string>; emergency: ReadonlySet<string> };

export const EVERY_PATIENT: PatientScope = { all: true };

export function scopeIncludes(scope: PatientScope, patientId: string): boolean {
  return scope.all || scope.patients.has(patientId);
}

/**
 * Reads the relationship rows in force at `now`, with the running break-the-glass accesses, in
 * one statement (it is on every request's path).
 */
export async function patientScopeOf(
  db: Db,
  principal: Principal,
  now: number,
): Promise<PatientScope> {
  if (principal.kind === 'client') return EVERY_PATIENT;
  const policy = ROLE_POLICIES[principal.role];
  const patients = new Set<string>();
  const emergency = new Set<string>();
  if (policy.relationship === 'organization') return EVERY_PATIENT;
  if (policy.relationship === 'self' && principal.patientId) patients.add(principal.patientId);
  const related =
    policy.relationship === 'care-team'
      ? sql`select ${careAssignments.patientId} as patient_id, false as emergency
          from ${careAssignments} where ${careAssignments.userId} = ${principal.id}
          and (${careAssignments.toTime} is null or ${careAssignments.toTime} > ${now})`
      : policy.relationship === 'ward' && principal.wards.length > 0
        ? sql`select ${bedAssignments.patientId} as patient_id, false as emergency
            from ${bedAssignments} where ${inArray(bedAssignments.gatewayId, principal.wards)}
            and ${bedAssignments.toTime} is null`
        : undefined;
  const glass = policy.breakGlass
    ? sql`select ${breakGlassAccess.patientId} as patient_id, true as emergency
        from ${breakGlassAccess} where ${breakGlassAccess.userId} = ${principal.id}
        and ${breakGlassAccess.expiresAt} > ${now}`
    : undefined;
  const parts = [related, glass].filter((q): q is SQL => q !== undefined);
  if (parts.length > 0) {
    const rows = rowsOf<{ patient_id: string; emergency: boolean }>(
      await db.execute(sql.join(parts, sql` union all `)),
    );
    for (const r of rows) if (!r.emergency) patients.add(r.patient_id);
    for (const r of rows)
      if (r.emergency && !patients.has(r.patient_id)) emergency.add(r.patient_id);
  }
  for (const id of emergency) patients.add(id);
  return { all: false, patients, emergency };
}
