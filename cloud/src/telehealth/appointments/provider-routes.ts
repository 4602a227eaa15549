import { Hono } from 'hono';
import { accessOf } from '../../access/index.ts';
import type { Db } from '../../db/database.ts';
import { ApiError, jsonBody } from '../../http/json-body.ts';
import { compareDates, parseLocalDate } from '../../time/zoned-time.ts';
import type { TelehealthOptions } from '../options.ts';
import {
  findProvider,
  listProviders,
  type Provider,
  providerSettingsSchema,
  providerView,
  saveProvider,
} from './providers.ts';
import { availability } from './slots.ts';

/** The longest range one availability request covers. */
const MAX_AVAILABILITY_DAYS = 62;

/**
 * Providers and their availability:
 * - PUT /providers/:userId {timeZone, workingHours, slotMinutes, practitionerId? | name?}: makes
 *   the doctor a provider or changes their hours; an administrator, or the doctor themself.
 * - GET /providers, GET /providers/:id (user id or Practitioner id): no PHI, any signed-in user
 *   who may read Schedules.
 * - GET /providers/:id/slots?from=YYYY-MM-DD&to=YYYY-MM-DD[&status=free|busy]: a FHIR searchset
 *   Bundle of the Slots of those local dates (in the provider's zone) that have not started.
 */
export function providerRoutes(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  const now = options.now ?? Date.now;

  app.put('/providers/:userId', async (c) => {
    const userId = c.req.param('userId');
    const access = accessOf(c);
    const op = access.record('admin', `telehealth/providers/${userId}`);
    access.requireRole('administrator', 'doctor');
    const p = access.principal;
    if (p.kind === 'user' && p.role === 'doctor' && p.id !== userId)
      throw access.deny('a doctor may only set their own working hours');
    const settings = await jsonBody(c, providerSettingsSchema);
    const { provider, created } = await saveProvider(db, userId, settings, now());
    op.detail = created ? 'telehealth provider registered' : 'telehealth working hours changed';
    return c.json({ provider: providerView(provider) }, created ? 201 : 200);
  });

  app.get('/providers', async (c) => {
    const access = accessOf(c);
    access.require('Schedule', 'search');
    access.record('search', 'telehealth/providers');
    return c.json({ providers: (await listProviders(db)).map(providerView) });
  });

  app.get('/providers/:id', async (c) => {
    const access = accessOf(c);
    access.require('Schedule', 'read');
    const provider = await knownProvider(db, c.req.param('id'));
    access.record('read', `Schedule/${provider.scheduleId}`);
    return c.json({ provider: providerView(provider) });
  });

  app.get('/providers/:id/slots', async (c) => {
    const access = accessOf(c);
    access.require('Slot', 'search');
    const provider = await knownProvider(db, c.req.param('id'));
    access.record('search', `Slot?schedule=${provider.scheduleId}`);
    const from = parseLocalDate(c.req.query('from') ?? '');
    const to = parseLocalDate(c.req.query('to') ?? c.req.query('from') ?? '');
    if (!from || !to)
      throw new ApiError(400, 'invalid_query', 'from and to: local dates as YYYY-MM-DD');
    const days = compareDates(to, from) / 86_400_000;
    if (days < 0 || days >= MAX_AVAILABILITY_DAYS)
      throw new ApiError(
        400,
        'invalid_query',
        `to must be on or after from, at most ${MAX_AVAILABILITY_DAYS} days`,
      );
    const status = c.req.query('status');
    if (status !== undefined && status !== 'free' && status !== 'busy')
      throw new ApiError(400, 'invalid_query', 'status: free or busy');
    const slots = (await availability(db, provider, from, to, now())).filter(
      (s) => !status || s.status === status,
    );
    return c.json({
      resourceType: 'Bundle',
      type: 'searchset',
      total: slots.length,
      entry: slots.map((resource) => ({ resource, search: { mode: 'match' } })),
    });
  });

  return app;
}

async function knownProvider(db: Db, id: string): Promise<Provider> {
  const provider = await findProvider(db, id);
  if (!provider) throw new ApiError(404, 'unknown_provider', 'no such telehealth provider');
  return provider;
}
