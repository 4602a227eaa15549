import { Hono } from 'hono';
import { z } from 'zod';
import { accessOf } from '../../access/index.ts';
import type { RequestAccess } from '../../access/request-access.ts';
import type { Db } from '../../db/database.ts';
import { jsonBody } from '../../http/json-body.ts';
import type { TelehealthOptions } from '../options.ts';
import { preferencesOf, savePreferences } from './preferences.ts';

const preferencesSchema = z.object({ email: z.boolean(), sms: z.boolean() });

/**
 * GET /reminders/preferences and PUT /reminders/preferences {email, sms}: a patient's own
 * opt-in to appointment reminders per channel (default: none).
 */
export function reminderRoutes(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  const now = options.now ?? Date.now;

  app.get('/reminders/preferences', async (c) => {
    const access = accessOf(c);
    const patientId = ownPatient(access);
    access.record('read', `telehealth/reminder-preferences/${patientId}`, [patientId]);
    return c.json({ preferences: await preferencesOf(db, patientId) });
  });

  app.put('/reminders/preferences', async (c) => {
    const access = accessOf(c);
    const patientId = ownPatient(access);
    access.record('update', `telehealth/reminder-preferences/${patientId}`, [patientId]);
    const preferences = await jsonBody(c, preferencesSchema);
    await savePreferences(db, patientId, preferences, now());
    return c.json({ preferences });
  });

  return app;
}

function ownPatient(access: RequestAccess): string {
  access.requireRole('patient');
  const p = access.principal;
  if (p.kind !== 'user' || !p.patientId)
    throw access.deny('this patient account has no patient record');
  return p.patientId;
}
