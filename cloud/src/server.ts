import type { Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { desc } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import { except } from 'hono/combine';
import { breakGlassApp } from './access/break-glass.ts';
import { accessControl } from './access/index.ts';
import { adtApp } from './adt/routes.ts';
import { alarmsApp } from './alarms/routes.ts';
import { createAuditLog } from './audit/chain-writer.ts';
import { type AuditProjection, startAuditProjection } from './audit/projection.ts';
import { auditApp } from './audit/routes.ts';
import { type AuthEnv, type AuthOptions, authApp, authenticate } from './auth/index.ts';
import {
  type BackupSchedule,
  type BackupScheduleOptions,
  checkBackupScheduleOptions,
  startBackupSchedule,
} from './backup/schedule.ts';
import { bedsApp } from './beds/routes.ts';
import type { CloudBroker } from './broker/broker.ts';
import { type ChartingJob, startChartingJob } from './charting/job.ts';
import { type ChartingOptions, chartingOptions } from './charting/options.ts';
import { chartApp } from './charting/routes.ts';
import {
  checkKeyRingFits,
  encryptionCoverage,
  type KeyRotationJob,
  keyRingOf,
  resolveKeyRing,
  startKeyRotation,
} from './crypto/index.ts';
import { type Database, openDatabase } from './db/database.ts';
import { gatewayStatus } from './db/schema.ts';
import { fhirApp } from './fhir/index.ts';
import { fhirJson, operationOutcome } from './fhir/operation-outcome.ts';
import { listGateways } from './gateways/registry.ts';
import { gatewaysApp } from './gateways/routes.ts';
import { apiBodyLimit } from './http/body-limit.ts';
import { errorBody } from './http/json-body.ts';
import {
  apiRateLimit,
  loginRateLimit,
  type RateLimitOverrides,
  rateLimitedForPath,
  rateLimitSettings,
} from './http/rate-limit-defaults.ts';
import { securityHeaders } from './http/security-headers.ts';
import {
  applyServerTimeouts,
  type ServerTimeouts,
  serverTimeouts,
  timeoutServerOptions,
} from './http/server-timeouts.ts';
import type { Ingest } from './ingest/ingest.ts';
import { type MqttSide, startMqttSide } from './ingest/service.ts';
import { patientsApp } from './patients/routes.ts';
import { documentBinaries } from './telehealth/documents/fhir-binary.ts';
import { isDocumentUpload } from './telehealth/documents/index.ts';
import { type TelehealthOptions, telehealthApp } from './telehealth/index.ts';
import { startTelehealthJobs, type TelehealthJobs } from './telehealth/jobs.ts';
import { attachVideoSignaling } from './telehealth/video/signaling.ts';
import { visitPageApp } from './telehealth/video/visit-page.ts';
import { loadTlsCredentials, type TlsFiles, tlsServerOptions } from './tls/server-tls.ts';

export interface CloudOptions {
  /** An already open database (tests, benchmarks); the cloud closes it on stop. */
  database?: Database;
  /** PGlite data folder (ignored when databaseUrl is given; in memory when neither is). */
  dataDir?: string;
  /** postgres:// URL: use that PostgreSQL server instead of PGlite. */
  databaseUrl?: string;
  /**
   * The PHI key file (crypto/key-file.ts). Without one: the file beside dataDir (made on first
   * start); PostgreSQL is refused. Ignored when `database` is given (it has its ring).
   */
  keyFile?: string;
  /** How often the background re-encryption looks for a rotated key (default 30 s). */
  keyCheckEverySeconds?: number;
  /** Interface both servers bind to (default 127.0.0.1). */
  host?: string;
  /** 0 picks a free port; the chosen one is in the result. */
  httpPort: number;
  mqttPort: number;
  log?: (message: string) => void;
  /** How device readings are charted as Observations (defaults: DEFAULT_CHARTING). */
  charting?: Partial<ChartingOptions>;
  /** Scheduled encrypted backups (backup/schedule.ts): folder, key, cron, verify, retention. */
  backup?: Omit<BackupScheduleOptions, 'log'>;
  /** HTTPS and MQTT over TLS (mqtts://) with this certificate and key (PEM texts or files). */
  tls?: TlsFiles;
  /** Limits on slow HTTP clients (defaults: DEFAULT_SERVER_TIMEOUTS). */
  timeouts?: Partial<ServerTimeouts>;
  /** Body size limit, rate limits: see CloudAppOptions. */
  app?: CloudAppOptions;
}

export interface CloudAppOptions {
  /** Largest /api request body in bytes (default DEFAULT_API_BODY_BYTES, 1 MiB; FHIR: 8 MiB). */
  apiBodyBytes?: number;
  /** Login and API rate limits over DEFAULT_RATE_LIMITS. */
  rateLimits?: RateLimitOverrides;
  /** Milliseconds clock of the rate limits (tests). */
  clock?: () => number;
  /** Session limits, lockout, token lifetime and clock of the identity API (auth/options.ts). */
  auth?: Omit<AuthOptions, 'audit' | 'secretBox'>;
  log?: (message: string) => void;
  /** Wait for the disk flush for read records too (PostgreSQL; see cloudApp). */
  durableReadAudit?: boolean;
  /** Reminders, video, pharmacy and document settings (telehealth/options.ts). */
  telehealth?: TelehealthOptions;
}

/**
 * /api routes that establish who is calling themselves: sign-in and the OAuth2 token endpoint,
 * the administrators' API (authenticated inside), and gateway enrollment (the one-time token is
 * the credential).
 */
const SELF_AUTHENTICATED_API = /^\/api\/(auth|admin)(\/|$)|^\/api\/enroll$/;
/** /api routes that authorize and audit each request themselves: the compliance officer's. */
const SELF_AUTHORIZED_API = /^\/api\/(audit|compliance)\//;

export interface Cloud extends Omit<MqttSide, 'stop'> {
  httpUrl: string;
  mqttUrl: string;
  httpPort: number;
  mqttPort: number;
  database: Database;
  broker: CloudBroker;
  ingest: Ingest;
  charting: ChartingJob;
  /** The backup schedule when options.backup was given (runNow for an immediate backup). */
  backup?: BackupSchedule;
  /** Copies the audit trail into the FHIR store as AuditEvents (searchable at /fhir/R4). */
  auditProjection: AuditProjection;
  /** Seals PHI left in clear and re-seals values of older key versions, in the background. */
  keyRotation: KeyRotationJob;
  /** No-show marking, appointment reminders and e-prescribing transmission. */
  telehealth: TelehealthJobs;
  /** Closes HTTP, then the broker and its clients (after ingest finished), then the database. */
  stop(): Promise<void>;
}

/**
 * The HTTP API: `/health`, the JSON APIs under `/api` and FHIR R4 under `/fhir/R4`. Every
 * request but sign-in, enrollment, `/health` and the FHIR CapabilityStatement is authenticated;
 * every clinical route is authorized (access/) and audited before its answer leaves.
 */
export function cloudApp(
  database: Database,
  mqtt: MqttSide,
  options: CloudAppOptions = {},
): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const db = database.db;
  const audit = createAuditLog(db);
  // A successful read's record commits without waiting for PostgreSQL's disk flush (one flush
  // less per read): a crash of the database server can lose the last ~0.6 s of read records,
  // which audit verify then reports as a gap. Writes, exports, refusals and sign-ins wait.
  const readAudit = options.durableReadAudit
    ? audit
    : createAuditLog(db, { synchronousCommit: false });
  const now = options.auth?.now;
  const authOptions: AuthOptions = { ...options.auth, audit, secretBox: keyRingOf(db) };
  const signedIn = authenticate(db, authOptions);
  const signedInFhir = authenticate(db, {
    ...authOptions,
    onError: (c, status, _code, message) =>
      fhirJson(c, operationOutcome(status === 401 ? 'login' : 'forbidden', message), status),
  });
  const authorized = accessControl(db, {
    audit,
    readAudit,
    now,
    log: options.log,
    render: (c, status, code, message) => c.json(errorBody(code, message), status),
  });
  // Ahead of securityHeaders: the visit page sends its own headers (a policy that lets it run).
  app.route('/telehealth', visitPageApp());
  app.use('*', securityHeaders());
  // The document upload streams and enforces its own (larger) limit: telehealth.documents.maxBytes.
  app.use('/api/*', except(isDocumentUpload, apiBodyLimit(options.apiBodyBytes)));
  const rateLimits = rateLimitSettings(options.rateLimits);
  const loginLimit = loginRateLimit({
    limits: rateLimits.login,
    maxKeys: rateLimits.maxKeys,
    now: options.clock,
  });
  app.use('/api/auth/login', loginLimit);
  app.use('/api/auth/token', loginLimit);
  const apiLimit = apiRateLimit({
    rule: rateLimits.api,
    maxKeys: rateLimits.maxKeys,
    now: options.clock,
    onLimited: rateLimitedForPath,
  });
  const selfAuthenticated = (c: Context) => SELF_AUTHENTICATED_API.test(c.req.path);
  const selfAuthorized = (c: Context) => SELF_AUTHORIZED_API.test(c.req.path);
  app.use('/api/*', except(selfAuthenticated, signedIn, apiLimit));
  app.use('/api/*', except([selfAuthenticated, selfAuthorized], authorized));
  app.use('/fhir/R4/*', except('/fhir/R4/metadata', signedInFhir, apiLimit));
  app.get('/health', async (c) => {
    const broker = {
      url: mqtt.broker.url,
      clients: mqtt.broker.connectedClients(),
      ...mqtt.broker.counters,
    };
    try {
      const [gateways, statuses] = await Promise.all([
        listGateways(database.db),
        database.db.select().from(gatewayStatus).orderBy(desc(gatewayStatus.receivedAt)),
      ]);
      const statusOf = new Map(statuses.map((s) => [s.gatewayId, s]));
      return c.json({
        status: 'ok',
        database: database.describe,
        broker,
        ingest: mqtt.ingest.counters,
        gateways: gateways.map((g) => {
          const status = statusOf.get(g.id);
          return {
            id: g.id,
            revoked: g.revokedAt !== null,
            status: status
              ? { online: status.online, receivedAt: status.receivedAt, snapshot: status.snapshot }
              : null,
          };
        }),
      });
    } catch (error) {
      return c.json(
        {
          status: 'error',
          database: database.describe,
          error: (error as Error).message,
          broker,
          ingest: mqtt.ingest.counters,
        },
        503,
      );
    }
  });
  app.route('/api/access', breakGlassApp(db, now));
  app.route('/api', auditApp(db, audit, { now, encryptionCoverage }));
  app.route('/api/alarms', alarmsApp(database.db));
  app.route('/api', chartApp(database.db));
  app.route('/api', patientsApp(database.db));
  app.route('/api', adtApp(database.db, mqtt.bedsChanged));
  app.route('/api/beds', bedsApp(database.db, mqtt.broker));
  app.route(
    '/api',
    gatewaysApp(database.db, mqtt, () => mqtt.broker.port),
  );
  // /api/auth (login and token need no bearer token) and /api/admin (authenticated inside).
  app.route('/api', authApp(db, authOptions));
  app.route('/api/telehealth', telehealthApp(db, { now, log: options.log, ...options.telehealth }));
  app.route(
    '/fhir/R4',
    fhirApp(db, {
      audit,
      readAudit,
      log: options.log,
      now,
      binaries: documentBinaries(db, options.log),
    }),
  );
  return app;
}

/** Opens the database and starts the MQTT broker with ingest, and the HTTP API. */
export async function startCloud(options: CloudOptions): Promise<Cloud> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log;
  const charting = chartingOptions(options.charting);
  if (options.backup) checkBackupScheduleOptions(options.backup);
  const database =
    options.database ??
    (await openDatabase({
      databaseUrl: options.databaseUrl,
      dataDir: options.dataDir,
      keyRing: await resolveKeyRing({ ...options, log }),
      onIdleError: (error) => log?.(`database: an idle connection was dropped: ${error.message}`),
    }));
  let mqtt: MqttSide | undefined;
  try {
    const keyRing = keyRingOf(database.db);
    await checkKeyRingFits(database.db, keyRing);
    const tls = options.tls ? loadTlsCredentials(options.tls) : undefined;
    const timeouts = serverTimeouts(options.timeouts);
    mqtt = await startMqttSide({ db: database.db, host, port: options.mqttPort, log, tls });
    const side = mqtt;
    const fetch = cloudApp(database, side, { log, ...options.app }).fetch;
    const http = tls
      ? createAdaptorServer({
          fetch,
          createServer: createHttpsServer,
          serverOptions: { ...tlsServerOptions(tls), ...timeoutServerOptions(timeouts) },
        })
      : createAdaptorServer({ fetch, serverOptions: timeoutServerOptions(timeouts) });
    applyServerTimeouts(http as HttpServer, timeouts);
    const signaling = attachVideoSignaling(http as HttpServer, database.db, {
      now: options.app?.auth?.now,
      log,
      ...options.app?.telehealth,
      audit: createAuditLog(database.db),
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.httpPort, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    const httpPort = (http.address() as AddressInfo).port;
    const chartingJob = startChartingJob(database.db, charting, log);
    const backupSchedule =
      options.backup && startBackupSchedule(database.db, { ...options.backup, log });
    const auditProjection = startAuditProjection(database.db, { log });
    const keyRotation = startKeyRotation(database.db, keyRing, {
      log,
      checkEverySeconds: options.keyCheckEverySeconds,
    });
    const telehealth = startTelehealthJobs(database.db, {
      now: options.app?.auth?.now,
      log,
      ...options.app?.telehealth,
    });
    const urlHost = host.includes(':') ? `[${host}]` : host;

    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        await signaling.close();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          if ('closeAllConnections' in http) http.closeAllConnections();
        });
        await chartingJob.stop();
        await backupSchedule?.stop();
        await auditProjection.stop();
        await keyRotation.stop();
        await telehealth.stop();
        await side.stop();
        await database.close();
      })();
      return stopping;
    };

    return {
      ...side,
      httpUrl: `${tls ? 'https' : 'http'}://${urlHost}:${httpPort}`,
      mqttUrl: side.broker.url,
      httpPort,
      mqttPort: side.broker.port,
      database,
      charting: chartingJob,
      backup: backupSchedule,
      auditProjection,
      keyRotation,
      telehealth,
      stop,
    };
  } catch (error) {
    await mqtt?.stop();
    await database.close();
    throw error;
  }
}
