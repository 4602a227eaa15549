import {
  BedAlarmSettings,
  BedId,
  downTopic,
  effectiveLimits,
  type GatewayConfigDown,
  GatewayId,
} from '@wardgate/shared';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { CloudBroker } from '../broker/broker.ts';
import { keyRingOf } from '../crypto/db-key-ring.ts';
import { BED_DISPLAY_NAME } from '../crypto/sealed-text.ts';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { bedAlarmSettings, bedAssignments } from '../db/schema.ts';
import { readPatient } from '../patients/patient-record.ts';

export interface AssignBedInput {
  gatewayId: string;
  bedId: string;
  patientId: string;
  displayName: string;
  /** Epoch ms the patient is in the bed from. */
  at: number;
  /** The Encounter of the stay (admission to discharge) this bed belongs to. */
  encounterId?: string;
}

/** An assignment as the functions here return it: the display name opened (it is stored sealed). */
export type BedAssignmentRow = typeof bedAssignments.$inferSelect;

async function opened(db: Db, rows: BedAssignmentRow[]): Promise<BedAssignmentRow[]> {
  const ring = keyRingOf(db);
  return Promise.all(
    rows.map(async (row) => ({
      ...row,
      displayName: (await BED_DISPLAY_NAME.open(ring, row.id, row.displayName)) as string,
    })),
  );
}

/**
 * The name a ward screen shows for a patient: given name and family initial. It is all of the
 * patient the gateway ever receives.
 */
export function wardDisplayName(patient: { given: string; family: string }): string {
  const initial = patient.family ? `${patient.family[0]}.` : '';
  return [patient.given, initial].filter(Boolean).join(' ') || 'Unnamed patient';
}

function checkBed(gatewayId: string, bedId: string): void {
  if (!GatewayId.safeParse(gatewayId).success) throw new Error(`invalid gateway id "${gatewayId}"`);
  if (!BedId.safeParse(bedId).success) throw new Error(`invalid bed id "${bedId}"`);
}

/** Closes the bed's open assignment at `at` and opens the new one, in one transaction. */
export async function assignBed(db: Db, input: AssignBedInput): Promise<BedAssignmentRow> {
  const { gatewayId, bedId, patientId, displayName, at, encounterId } = input;
  checkBed(gatewayId, bedId);
  if (!Number.isInteger(at) || at < 0) throw new Error(`invalid assignment time ${at}`);
  if (displayName.length === 0 || displayName.length > 128)
    throw new Error('the display name must have 1 to 128 characters');
  return db.transaction(async (tx) => {
    if (!(await readPatient(tx as unknown as Db, patientId)))
      throw new Error(`unknown patient ${patientId}`);
    const open = await tx.select().from(bedAssignments).where(openAssignmentOf(gatewayId, bedId));
    for (const row of open) {
      if (row.fromTime > at) {
        throw new Error(
          `bed ${bedId} of ${gatewayId} is assigned from ${new Date(row.fromTime).toISOString()}, after ${new Date(at).toISOString()}`,
        );
      }
    }
    await tx.update(bedAssignments).set({ toTime: at }).where(openAssignmentOf(gatewayId, bedId));
    // The id first: the sealed display name is bound to its row.
    const [{ id }] = rowsOf<{ id: string }>(
      await tx.execute(
        sql`select nextval(pg_get_serial_sequence('bed_assignments', 'id'))::text as id`,
      ),
    );
    const [created] = await tx
      .insert(bedAssignments)
      .values({
        id: Number(id),
        gatewayId,
        bedId,
        patientId,
        displayName: BED_DISPLAY_NAME.seal(keyRingOf(db), id, displayName),
        fromTime: at,
        toTime: null,
        encounterId: encounterId ?? null,
      })
      .returning();
    return { ...created, displayName };
  });
}

/** Ends the bed's open assignment at `at` (the patient left it); the closed row, if there was one. */
export async function releaseBed(
  db: Db,
  gatewayId: string,
  bedId: string,
  at: number,
): Promise<BedAssignmentRow | undefined> {
  checkBed(gatewayId, bedId);
  const closed = await db
    .update(bedAssignments)
    .set({ toTime: at })
    .where(openAssignmentOf(gatewayId, bedId))
    .returning();
  return (await opened(db, closed))[0];
}

/** The bed a patient lies in now (their open assignment), if any. */
export async function currentBedOf(
  db: Db,
  patientId: string,
): Promise<BedAssignmentRow | undefined> {
  const rows = await db
    .select()
    .from(bedAssignments)
    .where(and(eq(bedAssignments.patientId, patientId), isNull(bedAssignments.toTime)));
  return (await opened(db, rows))[0];
}

function openAssignmentOf(gatewayId: string, bedId: string) {
  return and(
    eq(bedAssignments.gatewayId, gatewayId),
    eq(bedAssignments.bedId, bedId),
    isNull(bedAssignments.toTime),
  );
}

/** The assignments in force now (open ones) on a gateway's ward, by bed id. */
export async function currentAssignments(db: Db, gatewayId: string): Promise<BedAssignmentRow[]> {
  const rows = await db
    .select()
    .from(bedAssignments)
    .where(and(eq(bedAssignments.gatewayId, gatewayId), isNull(bedAssignments.toTime)))
    .orderBy(asc(bedAssignments.bedId));
  return opened(db, rows);
}

interface Stay {
  patientId: string;
  fromTime: number;
  toTime: number | null;
}

/** Resolves the patient of a bed at a time without a query: for the ingest hot path. */
export type PatientResolver = (bedId: string, time: number) => string | null;

/**
 * Cached bed history per gateway. In-process assignments call invalidate(); the cache also
 * expires after `ttlMs`, so assignments written by another process (CLI, another replica) are
 * picked up shortly.
 */
export class BedDirectory {
  private readonly db: Db;
  private readonly ttlMs: number;
  private readonly cache = new Map<string, { loadedAt: number; beds: Map<string, Stay[]> }>();

  constructor(db: Db, options: { ttlMs?: number } = {}) {
    this.db = db;
    this.ttlMs = options.ttlMs ?? 5_000;
  }

  invalidate(gatewayId: string): void {
    this.cache.delete(gatewayId);
  }

  async resolverFor(gatewayId: string): Promise<PatientResolver> {
    let entry = this.cache.get(gatewayId);
    if (!entry || Date.now() - entry.loadedAt > this.ttlMs) {
      entry = { loadedAt: Date.now(), beds: await this.load(gatewayId) };
      this.cache.set(gatewayId, entry);
    }
    const beds = entry.beds;
    return (bedId, time) => {
      const stays = beds.get(bedId);
      if (!stays) return null;
      for (let i = stays.length - 1; i >= 0; i--) {
        const stay = stays[i];
        if (stay.fromTime <= time) {
          return stay.toTime === null || time < stay.toTime ? stay.patientId : null;
        }
      }
      return null;
    };
  }

  async patientInBedAt(gatewayId: string, bedId: string, time: number): Promise<string | null> {
    return (await this.resolverFor(gatewayId))(bedId, time);
  }

  private async load(gatewayId: string): Promise<Map<string, Stay[]>> {
    const rows = await this.db
      .select()
      .from(bedAssignments)
      .where(eq(bedAssignments.gatewayId, gatewayId))
      .orderBy(asc(bedAssignments.fromTime), asc(bedAssignments.id));
    const beds = new Map<string, Stay[]>();
    for (const row of rows) {
      const stays = beds.get(row.bedId) ?? [];
      stays.push({ patientId: row.patientId, fromTime: row.fromTime, toTime: row.toTime });
      beds.set(row.bedId, stays);
    }
    return beds;
  }
}

export async function gatewayConfig(db: Db, gatewayId: string): Promise<GatewayConfigDown> {
  const current = await currentAssignments(db, gatewayId);
  const alarms = new Map(
    (await db.select().from(bedAlarmSettings).where(eq(bedAlarmSettings.gatewayId, gatewayId))).map(
      (row) => [row.bedId, BedAlarmSettings.parse(row.settings)],
    ),
  );
  const bedIds = [...new Set([...current.map((row) => row.bedId), ...alarms.keys()])].sort();
  const displayNames = new Map(current.map((row) => [row.bedId, row.displayName]));
  return {
    v: 1,
    updatedAt: Date.now(),
    beds: bedIds.map((bedId) => ({
      bedId,
      displayName: displayNames.get(bedId) ?? null,
      ...(alarms.has(bedId) && { alarms: alarms.get(bedId) }),
    })),
  };
}

/** Stores a bed's alarm settings (validated); the caller republishes the gateway's config. */
export async function setBedAlarmSettings(
  db: Db,
  gatewayId: string,
  bedId: string,
  settings: unknown,
): Promise<BedAlarmSettings> {
  const parsed = BedAlarmSettings.parse(settings);
  effectiveLimits(parsed.profile ?? 'adult', parsed.limits);
  const updatedAt = Date.now();
  await db
    .insert(bedAlarmSettings)
    .values({ gatewayId, bedId, settings: parsed, updatedAt })
    .onConflictDoUpdate({
      target: [bedAlarmSettings.gatewayId, bedAlarmSettings.bedId],
      set: { settings: parsed, updatedAt },
    });
  return parsed;
}

/** Publishes the gateway's bed assignments, retained, on its down/config topic. */
export async function publishGatewayConfig(
  broker: CloudBroker,
  db: Db,
  gatewayId: string,
): Promise<GatewayConfigDown> {
  const config = await gatewayConfig(db, gatewayId);
  await broker.publish(downTopic(gatewayId, 'config'), JSON.stringify(config), {
    qos: 1,
    retain: true,
  });
  return config;
}
