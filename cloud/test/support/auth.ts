import { Hono } from 'hono';
import type { AuditEntry, AuditLog } from '../../src/audit/audit-entry.ts';
import { createAuditLog } from '../../src/audit/chain-writer.ts';
import { authApp } from '../../src/auth/app.ts';
import { authenticate } from '../../src/auth/authenticate.ts';
import type { AuthEnv } from '../../src/auth/hono-env.ts';
import type { AuthOptions } from '../../src/auth/options.ts';
import { base32Decode, totpCode } from '../../src/auth/totp.ts';
import { createUser, type NewUser } from '../../src/auth/users.ts';
import { keyRingOf } from '../../src/crypto/db-key-ring.ts';
import type { Database, Db } from '../../src/db/database.ts';
import type { TestDatabaseTarget } from './test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field by the tests.
export type Json = any;

export const MINUTE = 60_000;
export const DAY = 24 * 60 * MINUTE;
/** 2026-03-02T08:00:00Z, on a 30 s TOTP step boundary. */
export const T0 = Date.UTC(2026, 2, 2, 8);

/** The real audit log of the database, also keeping every entry for the test to look at. */
export function recordingAuditLog(db: Db): AuditLog & { entries: AuditEntry[] } {
  const log = createAuditLog(db);
  const entries: AuditEntry[] = [];
  return {
    entries,
    async append(entry) {
      entries.push(entry);
      await log.append(entry);
    },
    async appendMany(batch) {
      entries.push(...batch);
      await log.appendMany(batch);
    },
  };
}

export interface AuthKit {
  app: Hono;
  db: Db;
  clock: { now: number };
  advance(ms: number): void;
  audit: ReturnType<typeof recordingAuditLog>;
  /** Audit entries of this action (and outcome) so far. */
  audited(action: AuditEntry['action'], outcome?: AuditEntry['outcome']): AuditEntry[];
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: Json; headers: Headers }>;
  addUser(user: Partial<NewUser> & { username: string; role: string }): Promise<string>;
  /** The current TOTP code of a base32 secret, by the kit's clock. */
  code(secret: string, offsetSteps?: number): string;
  /** Password login, MFA enrolment and activation: a full session of a staff user. */
  signInEnrolling(username: string, password?: string): Promise<SignedIn>;
}

export interface SignedIn {
  token: string;
  secret: string;
  recoveryCodes: string[];
}

export const PASSWORD = 'Tulip-Harbour-2931';

/**
 * authApp mounted at /api the way cloudApp mounts it, on a clock the test moves, with the
 * database's PHI key ring as the secret box and the real hash-chained audit log; plus
 * `GET /api/probe` behind authenticate, answering the principal.
 */
export async function authKit(db: Db, options: Partial<AuthOptions> = {}): Promise<AuthKit> {
  const clock = { now: T0 };
  const audit = recordingAuditLog(db);
  const all: AuthOptions = {
    audit,
    secretBox: keyRingOf(db),
    now: () => clock.now,
    ...options,
  };
  const app = new Hono();
  app.route('/api', authApp(db, all));
  const probe = new Hono<AuthEnv>();
  probe.use('*', authenticate(db, all));
  probe.get('/', (c) => c.json({ principal: c.get('principal') }));
  app.route('/api/probe', probe);

  const kit: AuthKit = {
    app,
    db,
    clock,
    audit,
    advance(ms) {
      clock.now += ms;
    },
    audited: (action, outcome) =>
      audit.entries.filter((e) => e.action === action && (!outcome || e.outcome === outcome)),
    async call(method, path, { token, body: given, headers = {} } = {}) {
      const body = method === 'GET' || method === 'HEAD' ? undefined : given;
      const init: RequestInit = {
        method,
        headers: {
          'user-agent': 'auth-test',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined && typeof body !== 'string'
            ? { 'content-type': 'application/json' }
            : {}),
          ...headers,
        },
        body:
          body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      };
      const response = await app.request(path, init);
      const text = await response.text();
      return {
        status: response.status,
        body: text ? JSON.parse(text) : null,
        headers: response.headers,
      };
    },
    async addUser(user) {
      const row = await createUser(
        db,
        {
          password: PASSWORD,
          trainingCompletedAt: clock.now - 30 * DAY,
          ...user,
        },
        clock.now,
      );
      return row.id;
    },
    code: (secret, offsetSteps = 0) =>
      totpCode(base32Decode(secret), clock.now + offsetSteps * 30_000),
    async signInEnrolling(username, password = PASSWORD) {
      const login = await kit.call('POST', '/api/auth/login', { body: { username, password } });
      if (login.status !== 200)
        throw new Error(`login ${login.status} ${JSON.stringify(login.body)}`);
      const token = login.body.token;
      const enrol = await kit.call('POST', '/api/auth/mfa/enrol', { token });
      if (enrol.status !== 200) throw new Error(`enrol ${enrol.status}`);
      const activate = await kit.call('POST', '/api/auth/mfa/activate', {
        token,
        body: { code: kit.code(enrol.body.secret) },
      });
      if (activate.status !== 200) throw new Error(`activate ${activate.status}`);
      return { token, secret: enrol.body.secret, recoveryCodes: activate.body.recoveryCodes };
    },
  };
  return kit;
}

/**
 * One database per target for a whole test file (opening one costs seconds): the identity tests
 * keep apart by using different usernames. `closeAll` in test.after.
 */
export function sharedDatabases() {
  const open = new Map<TestDatabaseTarget, Promise<Database>>();
  return {
    of(target: TestDatabaseTarget): Promise<Database> {
      let database = open.get(target);
      if (!database) {
        database = target.open();
        open.set(target, database);
      }
      return database;
    },
    async closeAll(): Promise<void> {
      for (const database of open.values()) await (await database).close();
      open.clear();
    },
  };
}
