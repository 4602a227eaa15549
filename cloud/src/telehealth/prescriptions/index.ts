import { Hono } from 'hono';
import { accessOf } from '../../access/index.ts';
import type { RequestAccess } from '../../access/request-access.ts';
import type { Db } from '../../db/database.ts';
import { ApiError, errorBody, jsonBody } from '../../http/json-body.ts';
import { requireParticipant } from '../appointments/visit.ts';
import type { TelehealthOptions } from '../options.ts';
import { checkOrder } from './checks.ts';
import { INTERACTION_TABLE_VERSION, listDrugs, listInteractions } from './drug-catalog.ts';
import { pharmacySettings } from './options.ts';
import { checkBodySchema, resolveOrder, signBodySchema } from './order.ts';
import {
  listPrescriptions,
  loadPrescription,
  missingOverrides,
  prescriptionView,
  signOrder,
} from './signing.ts';

export { ERX_TRANSMISSION_EXTENSION } from './medication-request.ts';
export { listPrescriptions, type PrescriptionView } from './signing.ts';
export { startPrescriptionTransmission, type TransmissionRound } from './transmission.ts';

const CLOSED = new Set(['cancelled', 'no-show']);

/** The visit when the principal is its host (the clinician), else AccessDenied. */
async function requireHost(db: Db, access: RequestAccess, appointmentId: string) {
  const op = access.record('search', `MedicationRequest?patient&appointment=${appointmentId}`);
  const { visit, role } = await requireParticipant(db, access, appointmentId, op);
  if (role !== 'host') throw access.deny('only the host of this appointment may prescribe');
  if (CLOSED.has(visit.status))
    throw new ApiError(409, 'appointment_closed', `the appointment is ${visit.status}`);
  access.requirePatient(visit.patientId, 'MedicationRequest', 'create', op);
  access.record('search', 'AllergyIntolerance?patient', [visit.patientId]);
  return visit;
}

/**
 * /api/telehealth: prescribing in a visit by its host: the drug list, the checks before signing
 * (interactions, allergies, duplicate therapy), signing with an override reason for every
 * alert, and the prescriptions with their e-prescribing state for both participants.
 */
export function prescriptionsApp(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  const now = options.now ?? Date.now;
  const pharmacy = pharmacySettings(options.pharmacy);

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

  app.post('/appointments/:id/prescriptions/check', async (c) => {
    const access = accessOf(c);
    const visit = await requireHost(db, access, c.req.param('id'));
    const body = await jsonBody(c, checkBodySchema);
    return c.json(await checkOrder(db, visit.patientId, resolveOrder(body.medications)));
  });

  app.post('/appointments/:id/prescriptions', async (c) => {
    const access = accessOf(c);
    const visit = await requireHost(db, access, c.req.param('id'));
    const body = await jsonBody(c, signBodySchema);
    const order = resolveOrder(body.medications);
    const pharmacyId = body.pharmacyNcpdpId ?? pharmacy.ncpdpId;
    if (!pharmacyId)
      throw new ApiError(400, 'pharmacy_required', 'Name the pharmacy: pharmacyNcpdpId');
    const { alerts, unchecked } = await checkOrder(db, visit.patientId, order);
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
      visit,
      order,
      alerts,
      overrides: body.overrides,
      pharmacyId,
      at: now(),
    });
    const views = await listPrescriptions(db, visit.appointmentId, true);
    return c.json({ prescriptions: views.filter((v) => ids.includes(v.id)), unchecked }, 201);
  });

  app.get('/appointments/:id/prescriptions', async (c) => {
    const access = accessOf(c);
    const appointmentId = c.req.param('id');
    const op = access.record('search', `MedicationRequest?appointment=${appointmentId}`);
    const { role } = await requireParticipant(db, access, appointmentId, op);
    return c.json({ prescriptions: await listPrescriptions(db, appointmentId, role === 'host') });
  });

  app.get('/prescriptions/:id', async (c) => {
    const access = accessOf(c);
    const id = c.req.param('id');
    const op = access.record('read', `MedicationRequest/${id}`);
    const row = await loadPrescription(db, id);
    if (!row?.appointmentId) {
      access.decided = true;
      throw access.deny('only the participants of this prescription’s appointment may read it');
    }
    const { role } = await requireParticipant(db, access, row.appointmentId, op);
    return c.json(await prescriptionView(db, row, role === 'host'));
  });

  return app;
}
