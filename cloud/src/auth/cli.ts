import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { AuditLog } from '../audit/audit-entry.ts';
import { createAuditLog } from '../audit/chain-writer.ts';
import type { CliContext } from '../cli-context.ts';
import { clientView, createClient, listClients, revokeClient } from './clients.ts';
import { AuthError } from './errors.ts';
import { PasswordPolicyError, passwordProblems } from './passwords.ts';
import {
  createUser,
  getUserByUsername,
  listUsers,
  resetMfa,
  setUserDisabled,
  type UserRow,
  unlockUser,
  updateUser,
  userView,
} from './users.ts';

export const USERS_USAGE = `  users add --username U --role R [--wards W1,W2] [--patient-id P]
            [--training-completed YYYY-MM-DD] [--password-stdin] [--data-dir D]
      Add a user. Roles: doctor, nurse (--wards), pharmacist, lab-technician, administrator,
      billing-specialist, compliance-officer, patient (--patient-id). Staff need a HIPAA training
      date within a year to sign in. The password is read from standard input with
      --password-stdin, else generated and printed once. MFA is enrolled at the first sign-in.
  users list [--data-dir D]
  users disable|enable|unlock|reset-mfa --username U [--data-dir D]
      Disable (ends every session), enable, lift a lockout, forget the TOTP secret and recovery
      codes (a lost phone: MFA is enrolled again at the next sign-in).
  users training --username U --completed YYYY-MM-DD [--data-dir D]
      Record the date the user completed HIPAA training.`;

export const CLIENTS_USAGE = `  clients add --name N --scopes "system/Observation.read system/Patient.read" [--data-dir D]
      Add an API client (OAuth2 client credentials at POST /api/auth/token); prints its id and
      secret once. Scopes: system/<Type|*>.<read|write|*>.
  clients list [--data-dir D]
  clients revoke --id ID [--data-dir D]
      Revoke the client and every token it holds.`;

type Spec = Record<string, { type: 'string' | 'boolean' }>;

export function options<T extends Spec>(cli: CliContext, args: string[], spec: T) {
  try {
    return parseArgs({
      args,
      options: { ...spec, 'data-dir': { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }).values as { [K in keyof T]?: T[K]['type'] extends 'boolean' ? boolean : string } & {
      'data-dir'?: string;
      help?: boolean;
    };
  } catch (error) {
    throw cli.usageError((error as Error).message);
  }
}

export function required(cli: CliContext, value: string | undefined, name: string): string {
  if (!value) throw cli.usageError(`--${name} is required`);
  return value;
}

function day(cli: CliContext, value: string, name: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== value)
    throw cli.usageError(`--${name} must be a date YYYY-MM-DD, got "${value}"`);
  return ms;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** 144 random bits in 24 characters: a passphrase by length, so it passes the rules. */
function generatedPassword(username: string): string {
  for (;;) {
    const password = randomBytes(18).toString('base64url');
    if (passwordProblems(password, username).length === 0) return password;
  }
}

/** Who did it, in the audit trail: the operating-system account that ran the CLI. */
function cliActor() {
  let name = 'unknown';
  try {
    name = userInfo().username;
  } catch {}
  return { kind: 'system' as const, id: `cli:${name}` };
}

export function adminEntry(
  audit: AuditLog,
  entity: string,
  detail: string,
  patientIds: string[] = [],
) {
  return audit.append({
    action: 'admin',
    outcome: 'success',
    actor: cliActor(),
    patientIds,
    entity,
    detail,
  });
}

const iso = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 10));

function describeUser(row: UserRow, now: number): string {
  const view = userView(row, now);
  const state = view.disabled
    ? 'disabled'
    : view.lockedUntil
      ? `locked until ${view.lockedUntil}`
      : 'active';
  const extra =
    view.role === 'nurse'
      ? `wards ${view.wards.join(',') || '-'}`
      : view.patientId
        ? `patient ${view.patientId}`
        : '';
  return [
    view.username,
    view.role,
    state,
    `mfa ${view.mfaEnabled ? 'on' : 'off'}`,
    `training ${iso(row.trainingCompletedAt)}`,
    `last login ${iso(row.lastLoginAt)}`,
    extra,
    view.id,
  ]
    .filter((part) => part !== '')
    .join('\t');
}

/** Rule and lookup errors are the user's mistake: said plainly, exit 1. */
async function friendly<R>(run: () => Promise<R>): Promise<R> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AuthError || error instanceof PasswordPolicyError)
      throw new Error(error.message);
    throw error;
  }
}

/** `wardgate-cloud users <command>`. */
export async function usersCommand(args: string[], cli: CliContext): Promise<number> {
  const [action, ...rest] = args;
  const now = Date.now();
  switch (action) {
    case 'add': {
      const values = options(cli, rest, {
        username: { type: 'string' },
        role: { type: 'string' },
        wards: { type: 'string' },
        'patient-id': { type: 'string' },
        'training-completed': { type: 'string' },
        'password-stdin': { type: 'boolean' },
      });
      if (values.help) return cli.usage(0);
      const username = required(cli, values.username, 'username');
      const role = required(cli, values.role, 'role');
      const training = values['training-completed'];
      const trainingCompletedAt =
        training === undefined ? null : day(cli, training, 'training-completed');
      const fromStdin = values['password-stdin'] === true;
      const password = fromStdin ? await readStdin() : generatedPassword(username.toLowerCase());
      if (fromStdin && password === '')
        throw cli.usageError('--password-stdin: standard input was empty');
      const problems = passwordProblems(password, username.trim().toLowerCase());
      if (problems.length > 0) throw new PasswordPolicyError(problems);
      const user = await cli.withDatabase(values['data-dir'], (database) =>
        friendly(async () => {
          const row = await createUser(
            database.db,
            {
              username,
              role,
              password,
              wards: values.wards
                ? values.wards
                    .split(',')
                    .map((w) => w.trim())
                    .filter(Boolean)
                : [],
              patientId: values['patient-id'] ?? null,
              trainingCompletedAt,
            },
            now,
          );
          await adminEntry(
            createAuditLog(database.db),
            `users/${row.id}`,
            `created ${row.username} (${row.role}${row.wards.length ? `; wards ${row.wards.join(',')}` : ''})`,
            row.patientId ? [row.patientId] : [],
          );
          return row;
        }),
      );
      console.log(`user ${user.username} (${user.role}) added, id ${user.id}`);
      if (!fromStdin) console.log(`initial password (shown once): ${password}`);
      if (user.role !== 'patient' && user.trainingCompletedAt === null)
        console.log('note: no HIPAA training date yet; sign-in is refused until one is recorded');
      return 0;
    }
    case 'list': {
      const values = options(cli, rest, {});
      if (values.help) return cli.usage(0);
      const all = await cli.withDatabase(values['data-dir'], (database) => listUsers(database.db));
      if (all.length === 0) console.log('no users');
      for (const row of all) console.log(describeUser(row, now));
      return 0;
    }
    case 'disable':
    case 'enable':
    case 'unlock':
    case 'reset-mfa': {
      const values = options(cli, rest, { username: { type: 'string' } });
      if (values.help) return cli.usage(0);
      const username = required(cli, values.username, 'username');
      const done = await cli.withDatabase(values['data-dir'], (database) =>
        friendly(async () => {
          const user = await getUserByUsername(database.db, username);
          const row =
            action === 'unlock'
              ? await unlockUser(database.db, user.id, now)
              : action === 'reset-mfa'
                ? await resetMfa(database.db, user.id, now)
                : await setUserDisabled(database.db, user.id, action === 'disable', now);
          const detail = {
            disable: `disabled ${row.username}; sessions ended`,
            enable: `enabled ${row.username}`,
            unlock: `unlocked ${row.username}`,
            'reset-mfa': `reset MFA of ${row.username}; sessions ended`,
          }[action];
          await adminEntry(createAuditLog(database.db), `users/${row.id}`, detail);
          return detail;
        }),
      );
      console.log(done);
      return 0;
    }
    case 'training': {
      const values = options(cli, rest, {
        username: { type: 'string' },
        completed: { type: 'string' },
      });
      if (values.help) return cli.usage(0);
      const username = required(cli, values.username, 'username');
      const completed = day(cli, required(cli, values.completed, 'completed'), 'completed');
      await cli.withDatabase(values['data-dir'], (database) =>
        friendly(async () => {
          const user = await getUserByUsername(database.db, username);
          await updateUser(database.db, user.id, { trainingCompletedAt: completed }, now);
          await adminEntry(
            createAuditLog(database.db),
            `users/${user.id}`,
            `updated ${user.username}: training completed ${iso(completed)}`,
          );
        }),
      );
      console.log(`${username.toLowerCase()}: HIPAA training completed ${iso(completed)}`);
      return 0;
    }
    default:
      throw cli.usageError(
        action
          ? `unknown users command "${action}"`
          : 'users: add, list, disable, enable, unlock, reset-mfa or training?',
      );
  }
}

/** `wardgate-cloud clients <command>`. */
export async function clientsCommand(args: string[], cli: CliContext): Promise<number> {
  const [action, ...rest] = args;
  const now = Date.now();
  switch (action) {
    case 'add': {
      const values = options(cli, rest, { name: { type: 'string' }, scopes: { type: 'string' } });
      if (values.help) return cli.usage(0);
      const name = required(cli, values.name, 'name');
      const scopes = required(cli, values.scopes, 'scopes')
        .split(/[\s,]+/)
        .filter(Boolean);
      const { client, secret } = await cli.withDatabase(values['data-dir'], (database) =>
        friendly(async () => {
          const created = await createClient(database.db, { name, scopes }, now);
          await adminEntry(
            createAuditLog(database.db),
            `api_clients/${created.client.id}`,
            `created API client ${created.client.name}: ${created.client.scopes.join(' ')}`,
          );
          return created;
        }),
      );
      console.log(`API client ${client.name} added, scopes ${client.scopes.join(' ')}`);
      console.log(`client_id     ${client.id}`);
      console.log(`client_secret ${secret}   (shown once)`);
      return 0;
    }
    case 'list': {
      const values = options(cli, rest, {});
      if (values.help) return cli.usage(0);
      const all = await cli.withDatabase(values['data-dir'], (database) =>
        listClients(database.db),
      );
      if (all.length === 0) console.log('no API clients');
      for (const row of all) {
        const view = clientView(row);
        const state = view.revokedAt ? `revoked ${view.revokedAt}` : 'active';
        console.log(`${view.id}\t${view.name}\t${state}\t${view.scopes.join(' ')}`);
      }
      return 0;
    }
    case 'revoke': {
      const values = options(cli, rest, { id: { type: 'string' } });
      if (values.help) return cli.usage(0);
      const id = required(cli, values.id, 'id');
      const client = await cli.withDatabase(values['data-dir'], (database) =>
        friendly(async () => {
          const revoked = await revokeClient(database.db, id, now);
          await adminEntry(
            createAuditLog(database.db),
            `api_clients/${revoked.id}`,
            `revoked API client ${revoked.name} and its tokens`,
          );
          return revoked;
        }),
      );
      console.log(`API client ${client.name} (${client.id}) revoked with its tokens`);
      return 0;
    }
    default:
      throw cli.usageError(
        action ? `unknown clients command "${action}"` : 'clients: add, list or revoke?',
      );
  }
}
