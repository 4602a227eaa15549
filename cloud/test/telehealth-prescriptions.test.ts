// Prescribing in a telehealth visit through the API behind real authorization and audit: the
// interaction, allergy and duplicate-therapy checks, signing with override reasons, and who
// may do what — on PGlite and PostgreSQL.
import { eq, gt } from 'drizzle-orm';
import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Principal } from '../src/auth/principal.ts';
import { isSealed } from '../src/crypto/key-ring.ts';
import type { Database } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { checkResource } from '../src/fhir/store/validate.ts';
import { RXNORM_SYSTEM } from '../src/telehealth/prescriptions/drug-catalog.ts';
import { ERX_TRANSMISSION_EXTENSION } from '../src/telehealth/prescriptions/index.ts';
import { prescriptions } from '../src/telehealth/prescriptions/schema.ts';
import {
  insertAppointment,
  seedTelehealth,
  type TelehealthPeople,
  telehealthApiAs,
} from './support/telehealth.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

const MINUTE = 60_000;
const START = Date.UTC(2026, 5, 3, 9, 0);
const PHARMACY = '1234567';

const rx = (code: string, display: string) => ({
  coding: [{ system: RXNORM_SYSTEM, code, display }],
  text: display,
});
const status = (system: string, code: string) => ({
  coding: [{ system: `http://terminology.hl7.org/CodeSystem/${system}`, code }],
});
const med = (rxnorm: string, extra: Record<string, unknown> = {}) => ({
  rxnorm,
  sig: 'Take one by mouth daily',
  quantity: { value: 30, unit: 'tablet' },
  daysSupply: 30,
  refills: 0,
  ...extra,
});

for (const target of testDatabaseTargets()) {
  const t = suite(`telehealth prescriptions (${target.name})`);
  let database: Database;
  let app: Hono;
  let people: TelehealthPeople;
  let appointmentId: string;
  let as: Principal;
  const now = START + 10 * MINUTE;
  const ids: Record<string, string> = {};

  const call = async (who: Principal, method: string, path: string, body?: unknown) => {
    as = who;
    const res = await app.request(`http://localhost/api/telehealth${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const check = (medications: unknown[], who: Principal = people.doctor.principal) =>
    call(who, 'POST', `/appointments/${appointmentId}/prescriptions/check`, { medications });
  const sign = (body: unknown, who: Principal = people.doctor.principal) =>
    call(who, 'POST', `/appointments/${appointmentId}/prescriptions`, body);
  const lastSeq = async () =>
    (await database.db.select().from(auditLog)).reduce((m, r) => Math.max(m, r.seq), 0);
  const auditAfter = (seq: number) =>
    database.db.select().from(auditLog).where(gt(auditLog.seq, seq)).orderBy(auditLog.seq);
  const rowCount = async () => (await database.db.select().from(prescriptions)).length;

  t.before(async () => {
    database = await target.open();
    people = await seedTelehealth(database.db, START - 86_400_000);
    appointmentId = await insertAppointment(database.db, people, { startAt: START });
    const store = new ResourceStore(database.db);
    const patient = { reference: `Patient/${people.patient.patientId}` };
    const active = async (code: string, name: string) =>
      (
        await store.create({
          resourceType: 'MedicationRequest',
          status: 'active',
          intent: 'order',
          medicationCodeableConcept: rx(code, name),
          subject: patient,
        })
      ).id;
    ids.warfarin = await active('11289', 'warfarin');
    ids.simvastatin = await active('36567', 'simvastatin');
    // Stopped, and a drug the list does not know: neither counts as a known active medication.
    await store.create({
      resourceType: 'MedicationRequest',
      status: 'stopped',
      intent: 'order',
      medicationCodeableConcept: rx('4493', 'fluoxetine'),
      subject: patient,
    });
    ids.unknownDrug = await active('999999', 'an unlisted remedy');
    const allergy = async (fields: Record<string, unknown>) =>
      (await store.create({ resourceType: 'AllergyIntolerance', patient, ...fields })).id;
    ids.penicillinAllergy = await allergy({
      clinicalStatus: status('allergyintolerance-clinical', 'active'),
      verificationStatus: status('allergyintolerance-verification', 'confirmed'),
      criticality: 'high',
      code: rx('7980', 'penicillin G'),
      reaction: [{ manifestation: [{ text: 'hives' }] }],
    });
    ids.refutedAllergy = await allergy({
      clinicalStatus: status('allergyintolerance-clinical', 'active'),
      verificationStatus: status('allergyintolerance-verification', 'refuted'),
      code: rx('36437', 'sertraline'),
    });
    ids.resolvedAllergy = await allergy({
      clinicalStatus: status('allergyintolerance-clinical', 'resolved'),
      code: rx('2231', 'cephalexin'),
    });
    ids.textAllergy = await allergy({
      clinicalStatus: status('allergyintolerance-clinical', 'active'),
      verificationStatus: status('allergyintolerance-verification', 'unconfirmed'),
      code: { text: 'Naproxen' },
    });
    // Another patient's warfarin must not leak into this patient's checks.
    await store.create({
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: rx('11289', 'warfarin'),
      subject: { reference: `Patient/${people.otherPatient.patientId}` },
    });
    as = people.doctor.principal;
    app = telehealthApiAs(
      database.db,
      () => as,
      () => now,
      { pharmacy: { ncpdpId: PHARMACY } },
    ).app;
  });

  t.after(async () => {
    await database.close();
  });

  t(
    'warfarin with ibuprofen and aspirin: interaction alerts with effect, management, sources',
    async () => {
      const res = await check([med('5640'), med('1191')]);
      assert.is(res.status, 200, JSON.stringify(res.body));
      const interactions = res.body.alerts.filter((a: Json) => a.kind === 'interaction');
      const nsaid = interactions.find((a: Json) => a.id.startsWith('interaction:warfarin-nsaid:'));
      assert.ok(nsaid, JSON.stringify(res.body.alerts));
      assert.is(nsaid.severity, 'high');
      assert.equal(nsaid.drug, { rxnorm: '5640', name: 'ibuprofen' });
      assert.equal(nsaid.against, {
        name: 'warfarin',
        rxnorm: '11289',
        source: 'active-medication',
        reference: `MedicationRequest/${ids.warfarin}`,
      });
      assert.match(nsaid.effect, /bleeding/);
      assert.ok(nsaid.management.length > 10);
      assert.ok(
        nsaid.sources.some((s: Json) => /COUMADIN/.test(s.title) && s.url.startsWith('https://')),
      );
      const antiplatelet = interactions.find((a: Json) =>
        a.id.startsWith('interaction:warfarin-antiplatelet:1191:'),
      );
      assert.ok(antiplatelet, 'aspirin with the active warfarin');
      // The other patient's warfarin is never counted: exactly one warfarin-nsaid alert.
      assert.is(
        interactions.filter((a: Json) => a.id.startsWith('interaction:warfarin-nsaid')).length,
        1,
      );
      assert.equal(res.body.unchecked, [
        { reference: `MedicationRequest/${ids.unknownDrug}`, text: 'an unlisted remedy' },
      ]);
    },
  );

  t('an interaction between two drugs of the same order', async () => {
    const res = await check([med('136411'), med('4917')]);
    assert.is(res.status, 200);
    const alert = res.body.alerts.find((a: Json) => a.kind === 'interaction');
    assert.is(alert.id, 'interaction:pde5-inhibitor-nitrate:136411:order:4917');
    assert.is(alert.severity, 'contraindicated');
    assert.equal(alert.against, { name: 'nitroglycerin', rxnorm: '4917', source: 'this-order' });
    assert.is(res.body.alerts.length, 1, 'one alert per pair, not one each way');
  });

  t(
    'a penicillin allergy alerts on amoxicillin; refuted and resolved allergies do not count',
    async () => {
      const res = await check([med('723', { quantity: { value: 21, unit: 'capsule' } })]);
      assert.is(res.status, 200);
      assert.equal(
        res.body.alerts.map((a: Json) => a.id),
        [`allergy:723:AllergyIntolerance/${ids.penicillinAllergy}`],
      );
      const [alert] = res.body.alerts;
      assert.is(alert.kind, 'allergy');
      assert.is(alert.severity, 'high');
      assert.match(alert.message, /penicillins/);
      assert.match(alert.message, /hives/);
      const refuted = await check([med('36437'), med('2231')]);
      assert.equal(refuted.body.alerts, [], JSON.stringify(refuted.body.alerts));
      const text = await check([med('7258')]);
      const byText = text.body.alerts.find((a: Json) => a.kind === 'allergy');
      assert.ok(byText, 'an allergy recorded as text names the drug');
      assert.match(byText.message, /\(unconfirmed\)/);
    },
  );

  t('duplicate therapy: same class already active, and within the order', async () => {
    const res = await check([med('83367')]);
    assert.equal(
      res.body.alerts.map((a: Json) => [a.kind, a.against.reference]),
      [['duplicate-therapy', `MedicationRequest/${ids.simvastatin}`]],
    );
    assert.match(res.body.alerts[0].message, /simvastatin .*statins/);
    const inOrder = await check([med('5640'), med('5640')]);
    assert.ok(
      inOrder.body.alerts.some(
        (a: Json) => a.kind === 'duplicate-therapy' && a.against.source === 'this-order',
      ),
    );
    const cyp = await check([med('21212')]);
    assert.ok(
      cyp.body.alerts.some((a: Json) =>
        a.id.startsWith('interaction:statin-cyp3a4-inhibitor:21212:'),
      ),
      'clarithromycin with the active simvastatin',
    );
  });

  t('signing is refused until every alert has an override reason; nothing is stored', async () => {
    const order = [
      med('5640', { sig: 'Take one tablet three times daily with food' }),
      med('7258'),
    ];
    const checked = await check(order);
    const alertIds = checked.body.alerts.map((a: Json) => a.id);
    // warfarin with each NSAID, the naproxen allergy, two NSAIDs in one order
    assert.is(alertIds.length, 4, JSON.stringify(alertIds));
    const before = await rowCount();
    const none = await sign({ medications: order });
    assert.is(none.status, 409);
    assert.is(none.body.error.code, 'override_required');
    assert.equal(none.body.missing, alertIds);
    assert.equal(
      none.body.alerts.map((a: Json) => a.id),
      alertIds,
    );
    const partial = await sign({
      medications: order,
      overrides: [{ alertId: alertIds[0], reason: 'short course, INR checked on day 3' }],
    });
    assert.is(partial.status, 409);
    assert.equal(partial.body.missing, alertIds.slice(1));
    const blank = await sign({
      medications: order,
      overrides: alertIds.map((alertId: string) => ({ alertId, reason: '  ' })),
    });
    assert.is(blank.status, 400, 'a blank reason is no reason');
    assert.is(await rowCount(), before);
  });

  t(
    'signing with a reason for each alert writes an active MedicationRequest, reasons sealed, audited',
    async () => {
      const order = [
        med('723', {
          strength: '500 mg capsule',
          sig: 'Take 1 capsule three times daily',
          quantity: { value: 21, unit: 'capsule' },
          daysSupply: 7,
        }),
      ];
      const { body: checked } = await check(order);
      const reason = 'Allergy was a rash in childhood; tolerated amoxicillin in 2024';
      const before = await lastSeq();
      const res = await sign({
        medications: order,
        overrides: checked.alerts.map((a: Json) => ({ alertId: a.id, reason })),
      });
      assert.is(res.status, 201, JSON.stringify(res.body));
      const [p] = res.body.prescriptions;
      assert.is(p.transmission.status, 'pending');
      assert.is(p.transmission.pharmacyId, PHARMACY);
      assert.is(p.medication.text, 'amoxicillin 500 mg capsule');
      assert.equal(
        p.alerts.map((a: Json) => [a.id, a.overrideReason]),
        [[`allergy:723:AllergyIntolerance/${ids.penicillinAllergy}`, reason]],
      );
      ids.amoxicillin = p.id;

      const stored = (await new ResourceStore(database.db).read('MedicationRequest', p.id))
        ?.resource as Json;
      checkResource(stored, 'MedicationRequest', p.id);
      assert.is(stored.status, 'active');
      assert.is(stored.intent, 'order');
      assert.equal(stored.subject, { reference: `Patient/${people.patient.patientId}` });
      assert.equal(stored.requester, { reference: `Practitioner/${people.doctor.practitionerId}` });
      assert.equal(stored.supportingInformation, [{ reference: `Appointment/${appointmentId}` }]);
      assert.equal(stored.medicationCodeableConcept.coding, [
        { system: RXNORM_SYSTEM, code: '723', display: 'amoxicillin' },
      ]);
      assert.equal(stored.dosageInstruction, [{ text: 'Take 1 capsule three times daily' }]);
      assert.is(stored.dispenseRequest.quantity.value, 21);
      assert.is(stored.dispenseRequest.expectedSupplyDuration.value, 7);
      assert.is(stored.dispenseRequest.numberOfRepeatsAllowed, 0);
      const ext = stored.extension.find((e: Json) => e.url === ERX_TRANSMISSION_EXTENSION);
      assert.equal(ext.extension[0], { url: 'status', valueCode: 'pending' });

      const [row] = await database.db
        .select()
        .from(prescriptions)
        .where(eq(prescriptions.id, p.id));
      assert.ok(isSealed(row.alerts), 'the alerts column is sealed');
      assert.not.match(row.alerts, /childhood/);
      assert.is(row.prescriberUserId, people.doctor.principal.id);

      const trail = await auditAfter(before);
      const created = trail.find((r) => r.action === 'create' && r.outcome === 'success');
      assert.ok(created, JSON.stringify(trail.map((r) => r.action)));
      assert.is(created.actorId, people.doctor.principal.id);
      assert.equal(created.patientIds, [people.patient.patientId]);
      assert.match(JSON.stringify(created.event), `MedicationRequest/${p.id}`);
      assert.not.match(JSON.stringify(trail), /childhood/);
    },
  );

  t('the new prescription is active: prescribing it again is duplicate therapy', async () => {
    const res = await check([med('733', { quantity: { value: 28, unit: 'capsule' } })]);
    assert.ok(
      res.body.alerts.some(
        (a: Json) =>
          a.kind === 'duplicate-therapy' &&
          a.against.reference === `MedicationRequest/${ids.amoxicillin}`,
      ),
      JSON.stringify(res.body.alerts),
    );
  });

  t('an order without alerts signs without overrides', async () => {
    const res = await sign({
      medications: [med('2231', { quantity: { value: 28, unit: 'capsule' } })],
    });
    assert.is(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.prescriptions[0].alerts, []);
  });

  t('both participants list the visit’s prescriptions; only the host sees the alerts', async () => {
    const host = await call(
      people.doctor.principal,
      'GET',
      `/appointments/${appointmentId}/prescriptions`,
    );
    assert.is(host.status, 200);
    assert.equal(host.body.prescriptions.map((p: Json) => p.medication.rxnorm).sort(), [
      '2231',
      '723',
    ]);
    for (const p of host.body.prescriptions) assert.ok(Array.isArray(p.alerts));
    const patient = await call(
      people.patient.principal,
      'GET',
      `/appointments/${appointmentId}/prescriptions`,
    );
    assert.is(patient.status, 200);
    assert.is(patient.body.prescriptions.length, 2);
    for (const p of patient.body.prescriptions) {
      assert.is(p.alerts, undefined);
      assert.is(p.transmission.status, 'pending');
    }
    const one = await call(people.patient.principal, 'GET', `/prescriptions/${ids.amoxicillin}`);
    assert.is(one.status, 200);
    assert.is(one.body.sig, 'Take 1 capsule three times daily');
  });

  t('non-participants are refused everywhere (403), and the refusal is audited', async () => {
    const before = await lastSeq();
    const attempts = [
      await check([med('723')], people.otherDoctor.principal),
      await sign({ medications: [med('2231')] }, people.otherDoctor.principal),
      await call(
        people.otherDoctor.principal,
        'GET',
        `/appointments/${appointmentId}/prescriptions`,
      ),
      await call(
        people.otherPatient.principal,
        'GET',
        `/appointments/${appointmentId}/prescriptions`,
      ),
      await call(people.otherPatient.principal, 'GET', `/prescriptions/${ids.amoxicillin}`),
      await call(people.otherDoctor.principal, 'GET', `/prescriptions/${ids.amoxicillin}`),
      // The patient takes part but does not prescribe.
      await check([med('723')], people.patient.principal),
      await sign({ medications: [med('2231')] }, people.patient.principal),
      // No such appointment or prescription: the same answer.
      await call(people.doctor.principal, 'POST', '/appointments/nope/prescriptions/check', {
        medications: [med('723')],
      }),
      await call(people.doctor.principal, 'GET', '/prescriptions/nope'),
    ];
    assert.equal(
      attempts.map((a) => a.status),
      attempts.map(() => 403),
      JSON.stringify(attempts.map((a) => a.body)),
    );
    const denied = (await auditAfter(before)).filter((r) => r.action === 'denied');
    assert.is(denied.length, attempts.length);
    assert.ok(denied.some((r) => r.patientIds.includes(people.patient.patientId)));
  });

  t(
    'outside a visit: a doctor in the care relationship prescribes, others are refused',
    async () => {
      const base = `/patients/${people.patient.patientId}/prescriptions`;
      const checked = await call(people.doctor.principal, 'POST', `${base}/check`, {
        medications: [med('5640')],
      });
      assert.is(checked.status, 200, JSON.stringify(checked.body));
      assert.ok(
        checked.body.alerts.some((a: Json) => a.id.startsWith('interaction:warfarin-nsaid:')),
      );
      const signed = await call(people.doctor.principal, 'POST', base, {
        medications: [med('29046', { strength: '10 mg tablet' })],
      });
      assert.is(signed.status, 201, JSON.stringify(signed.body));
      const [p] = signed.body.prescriptions;
      assert.is(p.appointmentId, null);
      const stored = (await new ResourceStore(database.db).read('MedicationRequest', p.id))
        ?.resource as Json;
      checkResource(stored, 'MedicationRequest', p.id);
      assert.is(stored.supportingInformation, undefined);
      assert.equal(stored.requester, { reference: `Practitioner/${people.doctor.practitionerId}` });

      const doctorList = await call(people.doctor.principal, 'GET', base);
      assert.equal(
        doctorList.body.prescriptions.map((x: Json) => x.id),
        [p.id],
        'only the prescriptions outside visits',
      );
      assert.equal(doctorList.body.prescriptions[0].alerts, []);
      const own = await call(people.patient.principal, 'GET', base);
      assert.is(own.status, 200);
      assert.is(own.body.prescriptions[0].alerts, undefined);
      assert.is(
        (await call(people.patient.principal, 'GET', `/prescriptions/${p.id}`)).status,
        200,
      );

      const refused = [
        await call(people.otherDoctor.principal, 'POST', `${base}/check`, {
          medications: [med('723')],
        }),
        await call(people.otherDoctor.principal, 'POST', base, { medications: [med('723')] }),
        await call(people.patient.principal, 'POST', base, { medications: [med('723')] }),
        await call(people.otherPatient.principal, 'GET', base),
        await call(people.otherDoctor.principal, 'GET', `/prescriptions/${p.id}`),
        await call(people.otherPatient.principal, 'GET', `/prescriptions/${p.id}`),
      ];
      assert.equal(
        refused.map((r) => r.status),
        refused.map(() => 403),
        JSON.stringify(refused.map((r) => r.body)),
      );
    },
  );

  t('no prescribing in a cancelled visit', async () => {
    const cancelled = await insertAppointment(database.db, people, {
      startAt: START + 86_400_000,
      status: 'cancelled',
    });
    const res = await call(
      people.doctor.principal,
      'POST',
      `/appointments/${cancelled}/prescriptions`,
      {
        medications: [med('29046')],
      },
    );
    assert.is(res.status, 409);
    assert.is(res.body.error.code, 'appointment_closed');
  });

  t('bad input is a 400 saying what is wrong', async () => {
    const unknown = await check([med('424242')]);
    assert.is(unknown.status, 400);
    assert.is(unknown.body.error.code, 'unknown_drug');
    assert.match(unknown.body.error.message, /424242/);
    const noSig = await check([
      { rxnorm: '723', quantity: { value: 1, unit: 'capsule' }, daysSupply: 1, refills: 0 },
    ]);
    assert.is(noSig.status, 400);
    assert.match(noSig.body.error.message, /sig/);
    const control = await check([med('723', { sig: 'Take one\u0000 daily' })]);
    assert.is(control.status, 400);
    assert.match(control.body.error.message, /control characters/);
    const badUnit = await check([med('723', { quantity: { value: 1, unit: 'bucket' } })]);
    assert.is(badUnit.status, 400);
    const badPharmacy = await sign({ medications: [med('2231')], pharmacyNcpdpId: '12' });
    assert.is(badPharmacy.status, 400);
    assert.match(badPharmacy.body.error.message, /pharmacyNcpdpId/);
  });

  t('the drug list and interaction table are served to doctors with their sources', async () => {
    const res = await call(people.doctor.principal, 'GET', '/prescriptions/drugs');
    assert.is(res.status, 200);
    assert.ok(res.body.drugs.some((d: Json) => d.rxcui === '11289' && d.name === 'warfarin'));
    for (const i of res.body.interactions) assert.ok(i.sources.length > 0, i.id);
    const patient = await call(people.patient.principal, 'GET', '/prescriptions/drugs');
    assert.is(patient.status, 403);
  });

  t.run();
}
