import { Hono } from 'hono';
import type { Db } from '../db/database.ts';
import { apiErrors } from '../http/json-body.ts';
import { patientSummary } from './summary.ts';

/** `GET /api/patients/:id/summary`. */
export function patientsApp(db: Db): Hono {
  const app = new Hono();
  app.get('/patients/:id/summary', async (c) =>
    c.json(await patientSummary(db, c.req.param('id'))),
  );
  app.onError(apiErrors);
  return app;
}
