import { and, asc, eq, gt, isNull, or } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { careAssignments } from '../db/schema.ts';
import { AuthError } from './errors.ts';
import { getUser } from './users.ts';

export interface CareAssignment {
  userId: string;
  patientId: string;
  from: string;
  to: string | null;
}

type Row = typeof careAssignments.$inferSelect;

const view = (row: Row): CareAssignment => ({
  userId: row.userId,
  patientId: row.patientId,
  from: new Date(row.fromTime).toISOString(),
  to: row.toTime === null ? null : new Date(row.toTime).toISOString(),
});

const open = (userId: string, patientId: string, now: number) =>
  and(
    eq(careAssignments.userId, userId),
    eq(careAssignments.patientId, patientId),
    or(isNull(careAssignments.toTime), gt(careAssignments.toTime, now)),
  );

/**
 * Puts a patient under a doctor's care from now (the care relationship authorization checks).
 * `created` false: the patient already was.
 */
export async function assignPatient(
  db: Db,
  userId: string,
  patientId: string,
  now: number,
): Promise<{ assignment: CareAssignment; created: boolean }> {
  const user = await getUser(db, userId);
  if (user.role !== 'doctor')
    throw new AuthError(
      400,
      'not-a-doctor',
      `only doctors have patients under their care (${user.username} is ${user.role})`,
    );
  if (!/^[A-Za-z0-9\-.]{1,64}$/.test(patientId))
    throw new AuthError(400, 'invalid-patient-id', 'not a FHIR Patient id');
  const [current] = await db
    .select()
    .from(careAssignments)
    .where(open(userId, patientId, now));
  if (current) return { assignment: view(current), created: false };
  const row: Row = { userId, patientId, fromTime: now, toTime: null };
  await db.insert(careAssignments).values(row);
  return { assignment: view(row), created: true };
}

/** Ends the doctor's care of the patient now. */
export async function endAssignment(
  db: Db,
  userId: string,
  patientId: string,
  now: number,
): Promise<CareAssignment> {
  const [ended] = await db
    .update(careAssignments)
    .set({ toTime: now })
    .where(open(userId, patientId, now))
    .returning();
  if (!ended)
    throw new AuthError(
      404,
      'not-found',
      `patient ${patientId} is not under the care of user ${userId}`,
    );
  return view(ended);
}

/** The patients under the user's care now. */
export async function currentAssignments(
  db: Db,
  userId: string,
  now: number,
): Promise<CareAssignment[]> {
  const rows = await db
    .select()
    .from(careAssignments)
    .where(
      and(
        eq(careAssignments.userId, userId),
        or(isNull(careAssignments.toTime), gt(careAssignments.toTime, now)),
      ),
    )
    .orderBy(asc(careAssignments.fromTime));
  return rows.map(view);
}
