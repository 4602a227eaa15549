import { eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { reminderPreferences } from '../appointments/schema.ts';

export interface ReminderPreferences {
  email: boolean;
  sms: boolean;
}

/** The patient's opt-in; nobody is reminded without having opted in. */
export async function preferencesOf(db: Db, patientId: string): Promise<ReminderPreferences> {
  const [row] = await db
    .select({ email: reminderPreferences.email, sms: reminderPreferences.sms })
    .from(reminderPreferences)
    .where(eq(reminderPreferences.patientId, patientId));
  return row ?? { email: false, sms: false };
}

export async function savePreferences(
  db: Db,
  patientId: string,
  preferences: ReminderPreferences,
  now: number,
): Promise<void> {
  await db
    .insert(reminderPreferences)
    .values({ patientId, ...preferences, updatedAt: now })
    .onConflictDoUpdate({
      target: reminderPreferences.patientId,
      set: { ...preferences, updatedAt: now },
    });
}
