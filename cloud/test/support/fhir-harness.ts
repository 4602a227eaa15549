import { Hono } from 'hono';
import type { Test } from 'uvu';
import { createAuditLog } from '../../src/audit/chain-writer.ts';
import type { Principal } from '../../src/auth/principal.ts';
import type { Database } from '../../src/db/database.ts';
import { fhirApp } from '../../src/fhir/index.ts';
import type { TestDatabaseTarget } from './test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON bodies are checked field by field in tests.
export type Json = any;

export const FHIR_BASE = 'http://localhost/fhir/R4';

/** An API client allowed everything: the FHIR semantics tests run as it. */
export const FULL_ACCESS: Principal = {
  kind: 'client',
  id: 'test-client',
  name: 'test',
  scopes: ['system/*.*'],
};

/**
 * The FHIR API on a fresh database of `target`, opened before the suite's tests and closed after
 * them, authorized and audited like the real mount: requests come as `principal` (default
 * FULL_ACCESS; set it to act as someone else). `call` sends a request (a string body as is,
 * anything else as JSON) and returns the status and the parsed body (null when empty).
 */
export function fhirHarness(suite: Test, target: TestDatabaseTarget) {
  let database: Database;
  let app: Hono;
  let principal: Principal = FULL_ACCESS;
  suite.before(async () => {
    database = await target.open();
    const audit = createAuditLog(database.db);
    app = new Hono()
      .use('*', async (c, next) => {
        c.set('principal' as never, principal as never);
        await next();
      })
      .route('/fhir/R4', fhirApp(database.db, { audit }));
  });
  suite.after(async () => {
    await database.close();
  });
  return {
    get app() {
      return app;
    },
    get db() {
      return database.db;
    },
    get principal() {
      return principal;
    },
    set principal(value: Principal) {
      principal = value;
    },
    async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const res = await app.request(`${FHIR_BASE}${path}`, {
        method,
        headers: { 'content-type': 'application/fhir+json', ...headers },
        body:
          body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, res, body: (text ? JSON.parse(text) : null) as Json };
    },
  };
}
