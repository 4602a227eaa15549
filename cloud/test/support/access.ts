import { Hono } from 'hono';
import { accessControl } from '../../src/access/index.ts';
import { type ChainedAuditLog, createAuditLog } from '../../src/audit/chain-writer.ts';
import type { Principal } from '../../src/auth/principal.ts';
import type { Db } from '../../src/db/database.ts';
import { type FhirAppOptions, fhirApp } from '../../src/fhir/index.ts';
import { errorBody } from '../../src/http/json-body.ts';
import { FULL_ACCESS } from './fhir-harness.ts';

/**
 * A Hono app for mounting /api apps under test as the cloud does — behind authorization and
 * audit — with the principal taken from `who()` instead of a sign-in (the identity tests cover
 * sign-in; these test what a principal may do).
 */
export function apiUnderTest(
  db: Db,
  who: () => Principal = () => FULL_ACCESS,
  now?: () => number,
): { app: Hono; audit: ChainedAuditLog } {
  const audit = createAuditLog(db);
  const app = new Hono();
  app.use('*', async (c, next) => {
    c.set('principal' as never, who() as never);
    await next();
  });
  app.use(
    '/api/*',
    accessControl(db, {
      audit,
      now,
      render: (c, status, code, message) => c.json(errorBody(code, message), status),
    }),
  );
  return { app, audit };
}

/**
 * The FHIR app as `who()` (default FULL_ACCESS) at the root of a Hono app (mount the result
 * where the test wants it), audited to a real audit log.
 */
export function fhirAppAs(
  db: Db,
  who: () => Principal = () => FULL_ACCESS,
  options: Omit<FhirAppOptions, 'audit'> = {},
): Hono {
  return new Hono()
    .use('*', async (c, next) => {
      c.set('principal' as never, who() as never);
      await next();
    })
    .route('/', fhirApp(db, { audit: createAuditLog(db), ...options }));
}
