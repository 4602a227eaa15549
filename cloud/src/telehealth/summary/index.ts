import { Hono } from 'hono';
import { accessOf } from '../../access/index.ts';
import type { Db } from '../../db/database.ts';
import { ApiError, jsonBody } from '../../http/json-body.ts';
import { requireParticipant } from '../appointments/visit.ts';
import type { TelehealthOptions } from '../options.ts';
import { composeSummary } from './compose.ts';
import { NotesBody, saveNotes } from './notes.ts';
import { summaryText } from './render-text.ts';

export { composeSummary, type VisitSummary } from './compose.ts';

/**
 * /api/telehealth: the visit summary, for the participants. GET …/summary is JSON, or plain text
 * to print with ?format=text; the host writes next steps and follow-up with PUT …/summary/notes.
 */
export function visitSummaryApp(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  const now = options.now ?? Date.now;

  app.get('/appointments/:id/summary', async (c) => {
    const access = accessOf(c);
    const id = c.req.param('id');
    const format = c.req.query('format') ?? 'json';
    if (format !== 'json' && format !== 'text')
      throw new ApiError(400, 'invalid_format', 'format is json or text');
    const op = access.record('read', `Appointment/${id}/summary`);
    const { visit } = await requireParticipant(db, access, id, op);
    const summary = await composeSummary(db, visit);
    if (format === 'json') return c.json(summary);
    return c.text(summaryText(summary), 200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
    });
  });

  app.put('/appointments/:id/summary/notes', async (c) => {
    const access = accessOf(c);
    const id = c.req.param('id');
    const op = access.record('update', `Appointment/${id}/summary/notes`);
    const { visit, role } = await requireParticipant(db, access, id, op);
    if (role !== 'host') throw access.deny('only the clinician of the visit writes its notes');
    if (visit.status === 'cancelled' || visit.status === 'no-show')
      throw new ApiError(409, 'visit_closed', `The appointment is ${visit.status}`);
    const notes = await jsonBody(c, NotesBody);
    await saveNotes(db, id, notes, access.principal.id, now());
    return c.json(await composeSummary(db, visit));
  });

  return app;
}
