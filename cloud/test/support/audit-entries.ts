import { sql } from 'drizzle-orm';
import type { AuditEntry } from '../../src/audit/audit-entry.ts';
import type { Principal, Role } from '../../src/auth/principal.ts';
import type { Db } from '../../src/db/database.ts';

/** A signed-in user principal for audit tests. */
export function user(id: string, role: Role, extra: Partial<Principal> = {}): Principal {
  return {
    kind: 'user',
    id,
    username: `${id}-name`,
    role,
    sessionId: `session-${id}`,
    wards: [],
    patientId: null,
    ...extra,
  } as Principal;
}

export function client(id: string, scopes: string[]): Principal {
  return { kind: 'client', id, name: `${id} app`, scopes };
}

/** A successful read of an Observation of `patient` by `actor` at `at`. */
export function readEntry(actor: Principal, patient: string, at?: number): AuditEntry {
  return {
    action: 'read',
    outcome: 'success',
    actor,
    patientIds: [patient],
    entity: `Observation/obs-${patient}`,
    source: { ip: '10.0.0.7', userAgent: 'test-agent/1.0' },
    purposeOfUse: 'TREAT',
    ...(at === undefined ? {} : { at }),
  };
}

/**
 * What an attacker with the table owner's rights does: switch the append-only trigger off,
 * change the rows, switch it on again.
 */
export async function tamper(db: Db, statement: ReturnType<typeof sql>): Promise<void> {
  await db.execute(sql`alter table audit_log disable trigger user`);
  try {
    await db.execute(statement);
  } finally {
    await db.execute(sql`alter table audit_log enable trigger user`);
  }
}
