import { eq } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import { accessOf } from '../../access/index.ts';
import type { RequestAccess } from '../../access/request-access.ts';
import type { Db } from '../../db/database.ts';
import { ApiError, errorBody, jsonBody } from '../../http/json-body.ts';
import { telehealthProviders } from '../appointments/schema.ts';
import { requireParticipant } from '../appointments/visit.ts';
import type { TelehealthOptions } from '../options.ts';
import { checkOrder } from './checks.ts';
import { INTERACTION_TABLE_VERSION, listDrugs, listInteractions } from './drug-catalog.ts';
import { pharmacySettings } from './options.ts';
import { checkBodySchema, resolveOrder, signBodySchema } from './order.ts';
import {
  listPatientPrescriptions,
  listPrescriptions,
  loadPrescription,
  missingOverrides,
  type PrescribingContext,
  prescriptionView,
  signOrder,
} from './signing.ts';

export { ERX_TRANSMISSION_EXTENSION } from './medication-request.ts';
export { listPrescriptions, type PrescriptionView } from './signing.ts';
export { startPrescriptionTransmission, type TransmissionRound } from './transmission.ts';

const CLOSED = new Set(['cancelled', 'no-show']);

/** The records a check reads, for the audit trail. */
function recordChecksReads(access: RequestAccess, patientId: string) {
  access.record('search', 'AllergyIntolerance?patient', [patientId]);
}

/** In a visit: its host (the clinician) prescribes, while it is not cancelled or a no-show. */
async function visitContext(
  db: Db,
  access: RequestAccess,
  appointmentId: string,
): Promise<PrescribingContext> {
  const op = access.record('search', `MedicationRequest?patient&appointment=${appointmentId}`);
  const { visit, role } = await requireParticipant(db, access, appointmentId, op);
  if (role !== 'host') throw access.deny('only the host of this appointment may prescribe');
  if (CLOSED.has(visit.status))
    throw new ApiError(409, 'appointment_closed', `the appointment is ${visit.status}`);
  access.requirePatient(visit.patientId, 'MedicationRequest', 'create', op);
  recordChecksReads(access, visit.patientId);
  return {
    patientId: visit.patientId,
    practitionerId: visit.practitionerId,
    appointmentId: visit.appointmentId,
  };
}

/** Outside a visit: a doctor in the patient's care relationship, signing as their Practitioner. */
async function patientContext(
  db: Db,
  access: RequestAccess,
  patientId: string,
): Promise<PrescribingContext> {
  const op = access.record('search', 'MedicationRequest?patient');
  access.requireRole('doctor');
  access.requirePatient(patientId, 'MedicationRequest', 'create', op);
  recordChecksReads(access, patientId);
  const [provider] = await db
    .select({ practitionerId: telehealthProviders.practitionerId })
    .from(telehealthProviders)
    .where(eq(telehealthProviders.userId, access.principal.id));
  if (!provider)
    throw new ApiError(409, 'no_practitioner', 'this account has no Practitioner to sign as');
  return { patientId, practitionerId: provider.practitionerId, appointmentId: null };
}

type ContextOf = (c: Context, access: RequestAccess) => Promise<PrescribingContext>;

/**
 * /api/telehealth: prescribing: the drug list, the checks before signing (interactions,
 * allergies, duplicate therapy), signing with an override reason for every alert, and the
 * prescriptions with their e-prescribing state. In a visit its host prescribes and both
 * participants read; outside a visit a doctor in the patient's care relationship does.
 */
export function prescriptionsApp(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  const now = options.now ?? Date.now;
  const pharmacy = pharmacySettings(options.pharmacy);

  const check = (contextOf: ContextOf) => async (c: Context) => {
    const access = accessOf(c);
    const context = await contextOf(c, access);
    const body = await jsonBody(c, checkBodySchema);
    return c.json(await checkOrder(db, context.patientId, resolveOrder(body.medications)));
  };

  const sign = (contextOf: ContextOf) => async (c: Context) => {
    const access = accessOf(c);
    const context = await contextOf(c, access);
    const body = await jsonBody(c, signBodySchema);
    const order = resolveOrder(body.medications);
    const pharmacyId = body.pharmacyNcpdpId ?? pharmacy.ncpdpId;
    if (!pharmacyId)
      throw new ApiError(400, 'pharmacy_required', 'Name the pharmacy: pharmacyNcpdpId');
    const { alerts, unchecked } = await checkOrder(db, context.patientId, order);
    const missing = missingOverrides(alerts, body.overrides);
    if (missing.length > 0)
      return c.json(
        {
          ...errorBody(
            'override_required',
            `${missing.length} alert(s) need an override reason before signing`,
          ),
          alerts,
          missing: missing.map((a) => a.id),
          unchecked,
        },
        409,
      );
    const ids = await signOrder(db, access, {
      context,
      order,
      alerts,
      overrides: body.overrides,
      pharmacyId,
      at: now(),
    });
    const signed = await Promise.all(
      ids.map(async (id) => prescriptionView(db, (await loadPrescription(db, id))!, true)),
    );
    return c.json({ prescriptions: signed, unchecked }, 201);
  };

  const inVisit: ContextOf = (c, access) => visitContext(db, access, c.req.param('id') as string);
  const forPatient: ContextOf = (c, access) =>
    patientContext(db, access, c.req.param('patientId') as string);

  app.get('/prescriptions/drugs', (c) => {
    const access = accessOf(c);
    access.record('read', 'prescriptions/drug-list');
    access.requireRole('doctor');
    return c.json({
      drugs: listDrugs(),
      interactions: listInteractions(),
      version: INTERACTION_TABLE_VERSION,
    });
  });

  app.post('/appointments/:id/prescriptions/check', check(inVisit));
  app.post('/appointments/:id/prescriptions', sign(inVisit));
  app.post('/patients/:patientId/prescriptions/check', check(forPatient));
  app.post('/patients/:patientId/prescriptions', sign(forPatient));

  app.get('/appointments/:id/prescriptions', async (c) => {
    const access = accessOf(c);
    const appointmentId = c.req.param('id');
    const op = access.record('search', `MedicationRequest?appointment=${appointmentId}`);
    const { role } = await requireParticipant(db, access, appointmentId, op);
    return c.json({ prescriptions: await listPrescriptions(db, appointmentId, role === 'host') });
  });

  /** Prescriptions signed outside a visit, for whoever may read the patient's medications. */
  app.get('/patients/:patientId/prescriptions', async (c) => {
    const access = accessOf(c);
    const patientId = c.req.param('patientId');
    const op = access.record('search', 'MedicationRequest?patient');
    access.requirePatient(patientId, 'MedicationRequest', 'search', op);
    return c.json({
      prescriptions: await listPatientPrescriptions(db, patientId, isDoctor(access)),
    });
  });

  app.get('/prescriptions/:id', async (c) => {
    const access = accessOf(c);
    const id = c.req.param('id');
    const op = access.record('read', `MedicationRequest/${id}`);
    const row = await loadPrescription(db, id);
    if (!row) {
      access.decided = true;
      throw access.deny('no prescription the caller may read');
    }
    if (row.appointmentId) {
      const { role } = await requireParticipant(db, access, row.appointmentId, op);
      return c.json(await prescriptionView(db, row, role === 'host'));
    }
    access.requirePatient(row.patientId, 'MedicationRequest', 'read', op);
    return c.json(await prescriptionView(db, row, isDoctor(access)));
  });

  return app;
}

const isDoctor = (access: RequestAccess) =>
  access.principal.kind === 'user' && access.principal.role === 'doctor';
