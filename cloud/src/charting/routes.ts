import { Hono } from 'hono';
import { z } from 'zod';
import { acknowledgeAlert, alertView, listAlerts } from '../alerts/clinical-alerts.ts';
import type { Db } from '../db/database.ts';
import { ApiError, apiErrors, jsonBody } from '../http/json-body.ts';
import { validateChart } from './validate-chart.ts';

const Validate = z.object({
  patientId: z.string().min(1),
  by: z.string().min(1).max(200),
  observations: z.array(z.string().min(1)).min(1).max(1000).optional(),
  /** ISO instant: validate what was taken up to then; default now. */
  through: z.iso.datetime({ offset: true }).optional(),
});

const Acknowledge = z.object({
  by: z.string().min(1).max(200),
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
    const validated = await validateChart(db, {
      patientId: body.patientId,
      by: body.by,
      observationIds: body.observations,
      through: body.through ? Date.parse(body.through) : undefined,
    });
    return c.json({ validated: validated.map((id) => `Observation/${id}`) });
  });

  app.get('/alerts', async (c) => {
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
      open: status === 'all' ? undefined : status === 'open',
      limit,
    });
    return c.json({ alerts: rows.map(alertView) });
  });

  app.post('/alerts/:id/acknowledge', async (c) => {
    const body = await jsonBody(c, Acknowledge);
    const row = await acknowledgeAlert(db, c.req.param('id'), body);
    return c.json(alertView(row));
  });

  app.onError(apiErrors);
  return app;
}
