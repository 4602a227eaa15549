import { Hono } from 'hono';
import { accessOf } from '../access/index.ts';
import type { Db } from '../db/database.ts';
import { apiErrors } from '../http/json-body.ts';
import { patientSummary } from './summary.ts';

/** `GET /api/patients/:id/summary`. */
export function patientsApp(db: Db): Hono {
  const app = new Hono();
  app.get('/patients/:id/summary', async (c) => {
    const id = c.req.param('id');
    const access = accessOf(c);
    const op = access.record('read', `patients/${id}/summary`);
    // The summary shows the record's vitals, alerts and stay: for those who read them.
    for (const type of ['Observation', 'Flag', 'Encounter']) access.require(type, 'read');
    access.requirePatient(id, 'Patient', 'read', op);
    return c.json(await patientSummary(db, id));
  });
  app.onError(apiErrors);
  return app;
}
