import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { errorBody, jsonBody } from '../http/json-body.ts';
import { authenticate } from './authenticate.ts';
import { assignPatient, currentAssignments, endAssignment } from './care-assignments.ts';
import { clientView, createClient, listClients, revokeClient } from './clients.ts';
import { authErrors } from './errors.ts';
import type { AuthEnv } from './hono-env.ts';
import { audit } from './login.ts';
import type { AuthConfig } from './options.ts';
import { ROLES } from './principal.ts';
import { requestSource } from './request-source.ts';
import {
  createUser,
  getUser,
  listUsers,
  resetMfa,
  revokeUserSessions,
  setUserDisabled,
  type UserRow,
  unlockUser,
  updateUser,
  userView,
} from './users.ts';

/** `YYYY-MM-DD` (midnight UTC) or an ISO date-time with offset. */
const TrainingDate = z.union([z.iso.date(), z.iso.datetime({ offset: true })]).nullable();
const toMs = (value: string | null | undefined) =>
  value === undefined ? undefined : value === null ? null : Date.parse(value);

const NewUserBody = z.object({
  username: z.string(),
  role: z.enum(ROLES),
  password: z.string().min(1).max(4096),
  wards: z.array(z.string().max(64)).max(100).optional(),
  patientId: z.string().max(64).nullable().optional(),
  trainingCompletedAt: TrainingDate.optional(),
});

const UserChangesBody = z
  .object({
    role: z.enum(ROLES).optional(),
    wards: z.array(z.string().max(64)).max(100).optional(),
    patientId: z.string().max(64).nullable().optional(),
    trainingCompletedAt: TrainingDate.optional(),
  })
  .strict();

const NewClientBody = z.object({
  name: z.string(),
  scopes: z.union([z.array(z.string()), z.string()]),
});

/** Only an administrator (a signed-in user; never an API client) passes; anybody else 403. */
function administratorsOnly(db: Db, config: AuthConfig): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const principal = c.get('principal');
    if (principal.kind === 'user' && principal.role === 'administrator') return next();
    await audit(
      { db, config, source: requestSource(c) },
      {
        action: 'denied',
        outcome: 'denied',
        actor: principal,
        entity: c.req.path,
        detail: 'administration needs the administrator role',
      },
    );
    return c.json(errorBody('forbidden', 'only administrators may do this'), 403);
  };
}

/** What an admin change is recorded as: what changed, never a secret. */
function describeChanges(before: UserRow, after: UserRow): string {
  const changes: string[] = [];
  if (before.role !== after.role) changes.push(`role ${before.role} -> ${after.role}`);
  if (before.wards.join(',') !== after.wards.join(','))
    changes.push(`wards [${before.wards.join(',')}] -> [${after.wards.join(',')}]`);
  if (before.patientId !== after.patientId) changes.push('patient link changed');
  if (before.trainingCompletedAt !== after.trainingCompletedAt)
    changes.push(
      `training completed ${after.trainingCompletedAt === null ? 'cleared' : new Date(after.trainingCompletedAt).toISOString().slice(0, 10)}`,
    );
  return changes.length > 0
    ? `updated ${after.username}: ${changes.join('; ')}`
    : `no change to ${after.username}`;
}

/**
 * `/admin/users` and `/admin/clients`: accounts, their care assignments and API clients. Every
 * change is audited (action `admin`) with what changed.
 */
export function adminRoutes(db: Db, config: AuthConfig): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  app.onError(authErrors);
  app.use('/admin/*', authenticate(db, config), administratorsOnly(db, config));

  const changed = (
    c: Context<AuthEnv>,
    entity: string,
    detail: string,
    patientIds: string[] = [],
  ) =>
    config.audit.append({
      action: 'admin',
      outcome: 'success',
      actor: c.get('principal'),
      patientIds,
      entity,
      detail,
      source: requestSource(c),
      at: config.now(),
    });

  app.get('/admin/users', async (c) => {
    const now = config.now();
    return c.json({ users: (await listUsers(db)).map((u) => userView(u, now)) });
  });

  app.post('/admin/users', async (c) => {
    const body = await jsonBody(c, NewUserBody);
    const now = config.now();
    const user = await createUser(
      db,
      { ...body, trainingCompletedAt: toMs(body.trainingCompletedAt) },
      now,
    );
    await changed(
      c,
      `users/${user.id}`,
      `created ${user.username} (${user.role}${user.wards.length ? `; wards ${user.wards.join(',')}` : ''})`,
      user.patientId ? [user.patientId] : [],
    );
    return c.json({ user: userView(user, now) }, 201);
  });

  app.get('/admin/users/:id', async (c) => {
    const now = config.now();
    const user = await getUser(db, c.req.param('id'));
    return c.json({
      user: userView(user, now),
      patients: user.role === 'doctor' ? await currentAssignments(db, user.id, now) : [],
    });
  });

  app.patch('/admin/users/:id', async (c) => {
    const body = await jsonBody(c, UserChangesBody);
    const now = config.now();
    const { before, after } = await updateUser(
      db,
      c.req.param('id'),
      { ...body, trainingCompletedAt: toMs(body.trainingCompletedAt) },
      now,
    );
    await changed(c, `users/${after.id}`, describeChanges(before, after));
    return c.json({ user: userView(after, now) });
  });

  app.post('/admin/users/:id/disable', async (c) => {
    const id = c.req.param('id');
    const principal = c.get('principal');
    if (principal.id === id)
      return c.json(errorBody('self-disable', 'administrators cannot disable themselves'), 409);
    const user = await setUserDisabled(db, id, true, config.now());
    await changed(c, `users/${id}`, `disabled ${user.username}; sessions ended`);
    return c.json({ user: userView(user, config.now()) });
  });

  app.post('/admin/users/:id/enable', async (c) => {
    const user = await setUserDisabled(db, c.req.param('id'), false, config.now());
    await changed(c, `users/${user.id}`, `enabled ${user.username}`);
    return c.json({ user: userView(user, config.now()) });
  });

  app.post('/admin/users/:id/unlock', async (c) => {
    const user = await unlockUser(db, c.req.param('id'), config.now());
    await changed(c, `users/${user.id}`, `unlocked ${user.username}`);
    return c.json({ user: userView(user, config.now()) });
  });

  app.post('/admin/users/:id/reset-mfa', async (c) => {
    const user = await resetMfa(db, c.req.param('id'), config.now());
    await changed(c, `users/${user.id}`, `reset MFA of ${user.username}; sessions ended`);
    return c.json({ user: userView(user, config.now()) });
  });

  app.post('/admin/users/:id/revoke-sessions', async (c) => {
    const user = await getUser(db, c.req.param('id'));
    const revoked = await revokeUserSessions(db, user.id, config.now());
    await changed(c, `users/${user.id}`, `ended ${revoked} session(s) of ${user.username}`);
    return c.json({ revoked });
  });

  app.get('/admin/users/:id/patients', async (c) => {
    const user = await getUser(db, c.req.param('id'));
    return c.json({ patients: await currentAssignments(db, user.id, config.now()) });
  });

  app.post('/admin/users/:id/patients/:patientId', async (c) => {
    const { id, patientId } = c.req.param();
    const { assignment, created } = await assignPatient(db, id, patientId, config.now());
    if (created) await changed(c, `users/${id}`, 'care assignment started', [patientId]);
    return c.json({ assignment }, created ? 201 : 200);
  });

  app.delete('/admin/users/:id/patients/:patientId', async (c) => {
    const { id, patientId } = c.req.param();
    const assignment = await endAssignment(db, id, patientId, config.now());
    await changed(c, `users/${id}`, 'care assignment ended', [patientId]);
    return c.json({ assignment });
  });

  app.get('/admin/clients', async (c) =>
    c.json({ clients: (await listClients(db)).map(clientView) }),
  );

  app.post('/admin/clients', async (c) => {
    const body = await jsonBody(c, NewClientBody);
    const scopes =
      typeof body.scopes === 'string'
        ? body.scopes.split(' ').filter((s) => s !== '')
        : body.scopes;
    const { client, secret } = await createClient(db, { name: body.name, scopes }, config.now());
    await changed(
      c,
      `api_clients/${client.id}`,
      `created API client ${client.name}: ${client.scopes.join(' ')}`,
    );
    // The secret is shown this once; only its hash is kept.
    return c.json({ client: clientView(client), clientId: client.id, clientSecret: secret }, 201);
  });

  app.post('/admin/clients/:id/revoke', async (c) => {
    const client = await revokeClient(db, c.req.param('id'), config.now());
    await changed(
      c,
      `api_clients/${client.id}`,
      `revoked API client ${client.name} and its tokens`,
    );
    return c.json({ client: clientView(client) });
  });

  return app;
}
