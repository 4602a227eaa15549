import { BedId, GatewayId } from '@wardgate/shared';
import { and, eq, isNull } from 'drizzle-orm';
import { assignBed, currentBedOf, releaseBed, wardDisplayName } from '../beds/assignments.ts';
import type { Db } from '../db/database.ts';
import { bedAssignments } from '../db/schema.ts';
import { ResourceStore } from '../fhir/store/resource-store.ts';
import type { FhirResource } from '../fhir/store/validate.ts';
import { ApiError } from '../http/json-body.ts';
import { nameOf, readPatient } from '../patients/patient-record.ts';

export interface BedRef {
  gatewayId: string;
  bedId: string;
}

export interface AdtResult {
  encounter: FhirResource;
  /** Where the patient lies now; null after discharge. */
  bed: BedRef | null;
}

const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const LOCATION_TYPE = 'http://terminology.hl7.org/CodeSystem/location-physical-type';

/**
 * Admission, transfer and discharge. Each moves the patient's bed assignment (which decides whose
 * chart a device reading belongs to, from the moment it happens) and keeps the stay's FHIR
 * Encounter in step (status, period, the location history), both in one transaction; then the
 * wards concerned get their new bed list (display names only).
 */
export class Adt {
  private readonly db: Db;
  private readonly bedsChanged: (gatewayId: string) => Promise<void>;

  constructor(db: Db, bedsChanged: (gatewayId: string) => Promise<void>) {
    this.db = db;
    this.bedsChanged = bedsChanged;
  }

  async admit(patientId: string, to: BedRef, at = Date.now()): Promise<AdtResult> {
    checkBedRef(to);
    const result = await this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      const displayName = await displayNameOf(db, patientId);
      const current = await currentBedOf(db, patientId);
      if (current)
        throw new ApiError(
          409,
          'already_admitted',
          `patient ${patientId} lies in ${current.bedId} of ${current.gatewayId}; transfer or discharge instead`,
        );
      await checkFree(db, to);
      const store = new ResourceStore(db);
      const location = await bedLocation(store, to);
      const version = await store.create(encounterFor(patientId, location, at));
      const encounter = version.resource as FhirResource;
      await assignBed(db, { ...to, patientId, displayName, at, encounterId: encounter.id });
      return { encounter, bed: to };
    });
    await this.bedsChanged(to.gatewayId);
    return result;
  }

  async transfer(patientId: string, to: BedRef, at = Date.now()): Promise<AdtResult> {
    checkBedRef(to);
    const { result, from } = await this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      const displayName = await displayNameOf(db, patientId);
      const from = await admittedBed(db, patientId);
      if (from.gatewayId === to.gatewayId && from.bedId === to.bedId)
        throw new ApiError(409, 'same_bed', `patient ${patientId} already lies in ${to.bedId}`);
      await checkFree(db, to);
      const store = new ResourceStore(db);
      const location = await bedLocation(store, to);
      await releaseBed(db, from.gatewayId, from.bedId, at);
      const encounter = await this.updateEncounter(store, from.encounterId, (e) => {
        closeLocations(e, at);
        (e.location as unknown[]).push(locationEntry(location, at));
      });
      await assignBed(db, { ...to, patientId, displayName, at, encounterId: encounter.id });
      return { result: { encounter, bed: to }, from };
    });
    await this.bedsChanged(from.gatewayId);
    if (from.gatewayId !== to.gatewayId) await this.bedsChanged(to.gatewayId);
    return result;
  }

  async discharge(patientId: string, at = Date.now()): Promise<AdtResult> {
    const { result, from } = await this.db.transaction(async (tx) => {
      const db = tx as unknown as Db;
      const from = await admittedBed(db, patientId);
      await releaseBed(db, from.gatewayId, from.bedId, at);
      const store = new ResourceStore(db);
      const encounter = await this.updateEncounter(store, from.encounterId, (e) => {
        closeLocations(e, at);
        e.status = 'finished';
        e.period = { ...(e.period as object), end: iso(at) };
      });
      return { result: { encounter, bed: null }, from };
    });
    await this.bedsChanged(from.gatewayId);
    return result;
  }

  private async updateEncounter(
    store: ResourceStore,
    encounterId: string | null,
    change: (encounter: FhirResource) => void,
  ): Promise<FhirResource> {
    const current = encounterId ? await store.read('Encounter', encounterId) : undefined;
    if (!current?.resource)
      throw new ApiError(
        409,
        'no_encounter',
        `the stay has no Encounter${encounterId ? ` (Encounter/${encounterId} is gone)` : ''}; it was assigned outside ADT`,
      );
    const encounter = structuredClone(current.resource);
    change(encounter);
    const { version } = await store.update(encounter, current.versionId);
    return version.resource as FhirResource;
  }
}

function encounterFor(patientId: string, location: FhirResource, at: number): FhirResource {
  return {
    resourceType: 'Encounter',
    status: 'in-progress',
    class: { system: ACT_CODE, code: 'IMP', display: 'inpatient encounter' },
    subject: { reference: `Patient/${patientId}` },
    period: { start: iso(at) },
    location: [locationEntry(location, at)],
  };
}

function locationEntry(location: FhirResource, at: number) {
  return {
    location: { reference: `Location/${location.id}`, display: location.name },
    status: 'active',
    period: { start: iso(at) },
  };
}

function closeLocations(encounter: FhirResource, at: number): void {
  for (const entry of (encounter.location ?? []) as Record<string, unknown>[]) {
    if (entry.status !== 'active') continue;
    entry.status = 'completed';
    entry.period = { ...(entry.period as object), end: iso(at) };
  }
}

/** The stored Location of a bed (id `gateway.bed`), made on first use. */
async function bedLocation(store: ResourceStore, bed: BedRef): Promise<FhirResource> {
  const id = `${bed.gatewayId}.${bed.bedId}`;
  const existing = await store.read('Location', id);
  if (existing?.resource) return existing.resource;
  const { version } = await store.update({
    resourceType: 'Location',
    id,
    status: 'active',
    name: `${bed.gatewayId} ${bed.bedId}`,
    mode: 'instance',
    physicalType: { coding: [{ system: LOCATION_TYPE, code: 'bd', display: 'Bed' }] },
  });
  return version.resource as FhirResource;
}

async function displayNameOf(db: Db, patientId: string): Promise<string> {
  const patient = await readPatient(db, patientId);
  if (!patient) throw new ApiError(404, 'unknown_patient', `no patient ${patientId}`);
  return wardDisplayName(nameOf(patient));
}

async function admittedBed(db: Db, patientId: string) {
  await displayNameOf(db, patientId);
  const current = await currentBedOf(db, patientId);
  if (!current) throw new ApiError(409, 'not_admitted', `patient ${patientId} is not in a bed`);
  return current;
}

async function checkFree(db: Db, bed: BedRef): Promise<void> {
  const [open] = await db
    .select({ patientId: bedAssignments.patientId })
    .from(bedAssignments)
    .where(
      and(
        eq(bedAssignments.gatewayId, bed.gatewayId),
        eq(bedAssignments.bedId, bed.bedId),
        isNull(bedAssignments.toTime),
      ),
    );
  if (open)
    throw new ApiError(
      409,
      'bed_occupied',
      `${bed.bedId} of ${bed.gatewayId} is occupied by patient ${open.patientId}; transfer or discharge them first`,
    );
}

function checkBedRef(bed: BedRef): void {
  if (!GatewayId.safeParse(bed.gatewayId).success)
    throw new ApiError(400, 'invalid_gateway', `invalid gateway id "${bed.gatewayId}"`);
  if (!BedId.safeParse(bed.bedId).success)
    throw new ApiError(400, 'invalid_bed', `invalid bed id "${bed.bedId}"`);
}

const iso = (ms: number) => new Date(ms).toISOString();
