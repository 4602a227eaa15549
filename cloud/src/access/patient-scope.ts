import { and, eq, gt, inArray, isNull, or } from 'drizzle-orm';
import type { Principal } from '../auth/principal.ts';
import type { Db } from '../db/database.ts';
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

/** Reads the relationship rows in force at `now` (one or two indexed queries). */
export async function patientScopeOf(
  db: Db,
  principal: Principal,
  now: number,
): Promise<PatientScope> {
  if (principal.kind === 'client') return EVERY_PATIENT;
  const policy = ROLE_POLICIES[principal.role];
  const patients = new Set<string>();
  switch (policy.relationship) {
    case 'organization':
      return EVERY_PATIENT;
    case 'none':
      break;
    case 'self':
      if (principal.patientId) patients.add(principal.patientId);
      break;
    case 'care-team': {
      const rows = await db
        .select({ patientId: careAssignments.patientId })
        .from(careAssignments)
        .where(
          and(
            eq(careAssignments.userId, principal.id),
            or(isNull(careAssignments.toTime), gt(careAssignments.toTime, now)),
          ),
        );
      for (const r of rows) patients.add(r.patientId);
      break;
    }
    case 'ward': {
      if (principal.wards.length === 0) break;
      const rows = await db
        .select({ patientId: bedAssignments.patientId })
        .from(bedAssignments)
        .where(
          and(inArray(bedAssignments.gatewayId, principal.wards), isNull(bedAssignments.toTime)),
        );
      for (const r of rows) patients.add(r.patientId);
      break;
    }
  }
  const emergency = new Set<string>();
  if (policy.breakGlass) {
    const rows = await db
      .select({ patientId: breakGlassAccess.patientId })
      .from(breakGlassAccess)
      .where(and(eq(breakGlassAccess.userId, principal.id), gt(breakGlassAccess.expiresAt, now)));
    for (const r of rows) if (!patients.has(r.patientId)) emergency.add(r.patientId);
  }
  for (const id of emergency) patients.add(id);
  return { all: false, patients, emergency };
}
