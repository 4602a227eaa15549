import { type Context, Hono } from 'hono';
import { z } from 'zod';
import { accessOf } from '../access/index.ts';
import type { RequestAccess } from '../access/request-access.ts';
import type { Db } from '../db/database.ts';
import { apiErrors, errorBody, jsonBody } from '../http/json-body.ts';
import { Adt } from './adt.ts';
import { MAX_BUCKETS, trend, trendParameter } from './trends.ts';

const Bed = z.object({ gatewayId: z.string(), bedId: z.string() });
const Movement = z.object({
  patientId: z.string().min(1),
  /** ISO instant; default now. */
  at: z.iso.datetime({ offset: true }).optional(),
});
const Admit = Movement.extend({ to: Bed });
const Discharge = Movement;

/**
 * `/api/adt/admit|transfer|discharge` (JSON: patientId, to: {gatewayId, bedId}, at?) and
 * `/api/trends?patient=&parameter=&from=&to=&bucket=` (bucket in seconds).
 */
export function adtApp(db: Db, bedsChanged: (gatewayId: string) => Promise<void>): Hono {
  const adt = new Adt(db, bedsChanged);
  const app = new Hono();

  // An ADT movement writes the patient's Encounter: a nurse may admit onto their own ward and
  // move or discharge the patients in their care; a doctor the patients in theirs.
  const movement =
    <T extends z.ZodType>(
      schema: T,
      authorize: (access: RequestAccess, body: z.infer<T>) => void,
      run: (body: z.infer<T>, at: number | undefined) => Promise<unknown>,
    ) =>
    async (c: Context) => {
      const body = await jsonBody(c, schema);
      authorize(accessOf(c), body);
      const at = (body as { at?: string }).at;
      return c.json(await run(body, at ? Date.parse(at) : undefined));
    };
  const onto = (a: RequestAccess, b: z.infer<typeof Admit>) =>
    a.requireWardOrPatient(
      b.to.gatewayId,
      b.patientId,
      'Encounter',
      'create',
      a.record('create', 'adt/admit'),
    );
  const existing = (what: string) => (a: RequestAccess, b: z.infer<typeof Discharge>) =>
    a.requirePatient(b.patientId, 'Encounter', 'update', a.record('update', `adt/${what}`));

  app.post(
    '/adt/admit',
    movement(Admit, onto, (b, at) => adt.admit(b.patientId, b.to, at)),
  );
  app.post(
    '/adt/transfer',
    movement(Admit, existing('transfer'), (b, at) => adt.transfer(b.patientId, b.to, at)),
  );
  app.post(
    '/adt/discharge',
    movement(Discharge, existing('discharge'), (b, at) => adt.discharge(b.patientId, at)),
  );

  app.get('/trends', async (c) => {
    const q = c.req.query();
    const access = accessOf(c);
    const op = access.record('search', 'trends');
    access.require('Observation', 'search');
    const missing = ['patient', 'parameter', 'from', 'to'].filter((k) => !q[k]);
    if (missing.length > 0)
      return c.json(errorBody('invalid_parameter', `missing ${missing.join(', ')}`), 400);
    access.requirePatient(q.patient, 'Observation', 'search', op);
    const term = trendParameter(q.parameter);
    if (!term)
      return c.json(
        errorBody(
          'invalid_parameter',
          `unknown parameter "${q.parameter}" (MDC reference id or LOINC code)`,
        ),
        400,
      );
    const from = Date.parse(q.from);
    const to = Date.parse(q.to);
    if (Number.isNaN(from) || Number.isNaN(to) || to <= from)
      return c.json(
        errorBody('invalid_parameter', 'from and to must be ISO instants with from < to'),
        400,
      );
    const bucketSeconds = Number(q.bucket ?? 60);
    if (!Number.isInteger(bucketSeconds) || bucketSeconds < 1)
      return c.json(
        errorBody('invalid_parameter', 'bucket must be a whole number of seconds ≥ 1'),
        400,
      );
    const bucketMs = bucketSeconds * 1000;
    if ((to - from) / bucketMs > MAX_BUCKETS)
      return c.json(
        errorBody('invalid_parameter', `more than ${MAX_BUCKETS} buckets: use a larger bucket`),
        400,
      );
    const buckets = await trend(
      db,
      { patientId: q.patient, parameter: q.parameter, from, to, bucketMs },
      term.mdc,
    );
    return c.json({
      patient: q.patient,
      parameter: {
        mdc: term.mdc,
        loinc: term.loinc ?? null,
        display: term.display,
        unit: term.ucum,
      },
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      bucketSeconds,
      buckets,
    });
  });
  app.onError(apiErrors);
  return app;
}
