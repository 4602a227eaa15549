import { randomUUID } from 'node:crypto';
import { and, desc, eq, gt, isNull, type SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { keyRingOf } from '../crypto/db-key-ring.ts';
import { BREAK_GLASS_REASON, BREAK_GLASS_REVIEW_NOTE } from '../crypto/sealed-text.ts';
import type { Db } from '../db/database.ts';
import { breakGlassAccess } from '../db/schema.ts';
import { ApiError, apiErrors, jsonBody } from '../http/json-body.ts';
import { readPatient } from '../patients/patient-record.ts';
import { accessOf } from './index.ts';
import { ROLE_POLICIES } from './roles.ts';

export const BREAK_GLASS_DEFAULT_MINUTES = 60;
export const BREAK_GLASS_MAX_MINUTES = 240;

const Declare = z.object({
  patientId: z.string().min(1).max(64),
  /** Why the emergency justifies reaching a record outside the care relationship. */
  reason: z.string().trim().min(10, 'state the emergency in at least 10 characters').max(500),
  minutes: z.number().int().min(1).max(BREAK_GLASS_MAX_MINUTES).optional(),
});

const Review = z.object({ note: z.string().trim().min(1).max(2000) });

/**
 * Break-the-glass under `/api/access`: a doctor or nurse declares an emergency access to one
 * patient with a reason (`POST /break-glass`), time-limited (default 60 minutes); it is audited as
 * such, every access it opens is audited with purpose ETREAT, and it waits for a compliance
 * officer's review (`GET /break-glass?unreviewed=true`, `POST /break-glass/:id/review`).
 */
export function breakGlassApp(db: Db, now: () => number = Date.now): Hono {
  const app = new Hono();
  app.post('/break-glass', async (c) => {
    const access = accessOf(c);
    const body = await jsonBody(c, Declare);
    const p = access.principal;
    if (p.kind !== 'user' || !ROLE_POLICIES[p.role].breakGlass)
      throw access.deny('only doctors and nurses may break the glass');
    access.decided = true;
    const minutes = body.minutes ?? BREAK_GLASS_DEFAULT_MINUTES;
    const id = randomUUID();
    // The reason is free text (it may name the patient): sealed here, not copied into the trail.
    const op = access.record('break-glass', `Patient/${body.patientId}`, [body.patientId]);
    op.detail = `emergency access ${id} for ${minutes} minutes`;
    if (!(await readPatient(db, body.patientId)))
      throw new ApiError(404, 'unknown_patient', `no patient ${body.patientId}`);
    const startedAt = now();
    const row = {
      id,
      userId: p.id,
      patientId: body.patientId,
      reason: BREAK_GLASS_REASON.seal(keyRingOf(db), id, body.reason),
      startedAt,
      expiresAt: startedAt + minutes * 60_000,
      reviewedAt: null,
      reviewedBy: null,
      reviewNote: null,
    };
    await db.insert(breakGlassAccess).values(row);
    return c.json(await view(db, row), 201);
  });

  app.get('/break-glass', async (c) => {
    const access = accessOf(c);
    access.requireRole('compliance-officer');
    const conditions: SQL[] = [];
    if (c.req.query('unreviewed') === 'true') conditions.push(isNull(breakGlassAccess.reviewedAt));
    if (c.req.query('active') === 'true') conditions.push(gt(breakGlassAccess.expiresAt, now()));
    const rows = await db
      .select()
      .from(breakGlassAccess)
      .where(and(...conditions))
      .orderBy(desc(breakGlassAccess.startedAt))
      .limit(500);
    access.record(
      'read',
      'access/break-glass',
      rows.map((r) => r.patientId),
    );
    return c.json({ accesses: await Promise.all(rows.map((r) => view(db, r))) });
  });

  app.post('/break-glass/:id/review', async (c) => {
    const access = accessOf(c);
    access.requireRole('compliance-officer');
    const { note } = await jsonBody(c, Review);
    const id = c.req.param('id');
    const [row] = await db
      .update(breakGlassAccess)
      .set({
        reviewedAt: now(),
        reviewedBy: access.principal.id,
        reviewNote: BREAK_GLASS_REVIEW_NOTE.seal(keyRingOf(db), id, note),
      })
      .where(and(eq(breakGlassAccess.id, id), isNull(breakGlassAccess.reviewedAt)))
      .returning();
    if (!row)
      throw new ApiError(404, 'unknown_access', `no unreviewed break-the-glass access ${id}`);
    access.record('admin', `access/break-glass/${id}/review`, [row.patientId]);
    return c.json(await view(db, row));
  });

  app.onError(apiErrors);
  return app;
}

/** A break-the-glass access as the API shows it, its free text opened. */
async function view(db: Db, row: typeof breakGlassAccess.$inferSelect) {
  const ring = keyRingOf(db);
  const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
  return {
    id: row.id,
    userId: row.userId,
    patientId: row.patientId,
    reason: await BREAK_GLASS_REASON.open(ring, row.id, row.reason),
    startedAt: iso(row.startedAt),
    expiresAt: iso(row.expiresAt),
    reviewedAt: iso(row.reviewedAt),
    reviewedBy: row.reviewedBy,
    reviewNote: await BREAK_GLASS_REVIEW_NOTE.open(ring, row.id, row.reviewNote),
  };
}
