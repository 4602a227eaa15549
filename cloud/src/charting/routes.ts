import { Hono } from 'hono';
import { z } from 'zod';
import { accessOf } from '../access/index.ts';
import {
  acknowledgeAlert,
  alertPatient,
  alertView,
  listAlerts,
} from '../alerts/clinical-alerts.ts';
import type { Db } from '../db/database.ts';
import { ApiError, apiErrors, jsonBody } from '../http/json-body.ts';
import { validateChart } from './validate-chart.ts';

// `by` is who signed in; a `by` in the body (older clients) is ignored.
const Validate = z.object({
  patientId: z.string().min(1),
  by: z.string().max(200).optional(),
  observations: z.array(z.string().min(1)).min(1).max(1000).optional(),
  /** ISO instant: validate what was taken up to then; default now. */
  through: z.iso.datetime({ offset: true }).optional(),
});

const Acknowledge = z.object({
  by: z.string().max(200).optional(),
  note: z.string().max(2000).optional(),
});

const MAX_ALERTS = 500;

/**
 * `POST /api/chart/validate` (a nurse validates charted device values), `GET /api/alerts`
 * (`?patient=&status=open|acknowledged|all&limit=`) and `POST /api/alerts/:id/acknowledge`.
 */
export function chartApp(db: Db): Hono {
  const app = new Hono();
  app.post('/chart/validate', async (c) => {
    const body = await jsonBody(c, Validate);
    const access = accessOf(c);
    const op = access.record('update', 'chart/validate');
    access.requirePatient(body.patientId, 'Observation', 'update', op);
    const validated = await validateChart(db, {
      patientId: body.patientId,
      by: access.actorName(),
      observationIds: body.observations,
      through: body.through ? Date.parse(body.through) : undefined,
    });
    return c.json({ validated: validated.map((id) => `Observation/${id}`) });
  });

  app.get('/alerts', async (c) => {
    const access = accessOf(c);
    access.require('Flag', 'search');
    const op = access.record('search', 'alerts');
    const status = c.req.query('status') ?? 'open';
    if (!['open', 'acknowledged', 'all'].includes(status))
      throw new ApiError(
        400,
        'invalid_status',
        `status is open, acknowledged or all, not "${status}"`,
      );
    const limitText = c.req.query('limit') ?? '100';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_ALERTS)
      throw new ApiError(400, 'invalid_limit', `limit is a whole number from 1 to ${MAX_ALERTS}`);
    const rows = await listAlerts(db, {
      patientId: c.req.query('patient') || undefined,
      patientIds: access.visibleTo()?.patientIds,
      open: status === 'all' ? undefined : status === 'open',
      limit,
    });
    for (const row of rows) op.patients.add(row.patientId);
    return c.json({ alerts: rows.map(alertView) });
  });

  app.post('/alerts/:id/acknowledge', async (c) => {
    const body = await jsonBody(c, Acknowledge);
    const access = accessOf(c);
    const id = c.req.param('id');
    const op = access.record('update', `alerts/${id}`);
    access.require('Flag', 'update');
    const patientId = await alertPatient(db, id);
    if (patientId) access.requirePatient(patientId, 'Flag', 'update', op);
    const row = await acknowledgeAlert(db, id, { by: access.actorName(), note: body.note });
    return c.json(alertView(row));
  });

  app.onError(apiErrors);
  return app;
}
