import { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Database } from '../src/db/database.ts';
import { MRN_SYSTEM } from '../src/db/schema.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { READ_ONLY_TYPES, STORED_TYPES } from '../src/fhir/store/validate.ts';
import { fhirAppAs } from './support/access.ts';
import { savePatients } from './support/patients.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON bodies are checked field by field below.
type Json = any;

async function insertFixture(database: Database) {
  await savePatients(database.db, [
    {
      id: 'p1',
      mrn: 'MRN-0001',
      family: 'Doe',
      given: 'Jane',
      gender: 'female',
      birthDate: '1950-04-02',
    },
    {
      id: 'p2',
      mrn: 'MRN-0002',
      family: 'Smith',
      given: 'Dorothy',
      gender: 'female',
      birthDate: '1942-11-20',
    },
    {
      id: 'p3',
      mrn: 'MRN-0003',
      family: 'O_Neil',
      given: 'Sam',
      gender: 'male',
      birthDate: '1980-01-01',
    },
  ]);
  // An AuditEvent as the audit trail writes it (through the store, not the API).
  await new ResourceStore(database.db).update({
    resourceType: 'AuditEvent',
    id: 'audit-1',
    type: {
      system: 'http://dicom.nema.org/resources/ontology/DCM',
      code: '110110',
      display: 'Patient Record',
    },
    action: 'R',
    recorded: '2024-03-01T08:00:00Z',
    outcome: '0',
    agent: [{ who: { display: 'Nurse N.' }, requestor: true }],
    source: { observer: { display: 'wardgate cloud' } },
    entity: [{ what: { reference: 'Patient/p1' } }],
  });
}

for (const target of testDatabaseTargets()) {
  const t = suite(`fhir (${target.name})`);
  let database: Database;
  let app: Hono;

  t.before(async () => {
    database = await target.open();
    await insertFixture(database);
    app = fhirAppAs(database.db);
  });
  t.after(async () => {
    await database.close();
  });

  async function get(
    path: string,
    init?: RequestInit,
  ): Promise<{ status: number; body: Json; res: Response }> {
    const res = await app.request(path, init);
    return { status: res.status, body: await res.json(), res };
  }

  t('metadata lists exactly what is implemented', async () => {
    const { status, body, res } = await get('/metadata');
    assert.is(status, 200);
    assert.is(res.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
    assert.is(body.resourceType, 'CapabilityStatement');
    assert.is(body.fhirVersion, '4.0.1');
    assert.is(body.kind, 'instance');
    assert.equal(body.format, ['json']);
    assert.is(body.rest.length, 1);
    assert.is(body.rest[0].mode, 'server');
    const summary = body.rest[0].resource.map((r: Json) => ({
      type: r.type,
      interactions: r.interaction.map((i: Json) => i.code),
      params: r.searchParam.map((p: Json) => `${p.name}:${p.type}`),
      operations: (r.operation ?? []).map((o: Json) => o.name),
    }));
    assert.equal(
      summary.map((r: Json) => r.type),
      [...STORED_TYPES],
    );
    for (const r of summary) {
      const read = ['read', 'vread', 'history-instance', 'history-type', 'search-type'];
      const write = ['create', 'update', 'patch', 'delete'];
      assert.equal(
        r.interactions,
        READ_ONLY_TYPES.has(r.type) ? read : [...read, ...write],
        r.type,
      );
      // The standard R4 parameters of the type (from the official definitions), then the common ones.
      assert.equal(r.params.slice(-8), [
        '_id:token',
        '_lastUpdated:date',
        '_count:number',
        '_sort:special',
        '_include:special',
        '_revinclude:special',
        '_summary:special',
        '_total:special',
      ]);
    }
    const of = (type: string) => summary.find((r: Json) => r.type === type);
    for (const param of ['date:date', 'patient:reference', 'status:token', 'length:quantity'])
      assert.ok(of('Encounter').params.includes(param), `Encounter ${param}`);
    for (const param of ['code:token', 'date:date', 'device:reference', 'value-quantity:quantity'])
      assert.ok(of('Observation').params.includes(param), `Observation ${param}`);
    for (const param of ['identifier:token', 'name:string', 'birthdate:date'])
      assert.ok(of('Patient').params.includes(param), `Patient ${param}`);
    // R4 Flag has no status or category search; wardgate defines both (open alerts).
    for (const param of ['patient:reference', 'status:token', 'category:token'])
      assert.ok(of('Flag').params.includes(param), `Flag ${param}`);
    assert.equal(of('Patient').operations, ['everything']);
    assert.is(body.implementation.url, 'http://localhost');
  });

  t('AuditEvent is read and searched, never written through the API', async () => {
    const read = await get('/AuditEvent/audit-1');
    assert.is(read.status, 200);
    assert.is(read.body.action, 'R');
    const found = await get('/AuditEvent?entity=Patient/p1');
    assert.is(found.body.total, 1);
    for (const [method, path] of [
      ['POST', '/AuditEvent'],
      ['PUT', '/AuditEvent/audit-1'],
      ['PATCH', '/AuditEvent/audit-1'],
      ['DELETE', '/AuditEvent/audit-1'],
    ]) {
      const { status, body, res } = await get(path, { method, body: '{}' });
      assert.is(status, 405, `${method} ${path}`);
      assert.is(body.resourceType, 'OperationOutcome');
      assert.is(res.headers.get('allow'), 'GET, HEAD');
    }
    const viaBundle = await get('/', {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Bundle',
        type: 'batch',
        entry: [{ request: { method: 'DELETE', url: 'AuditEvent/audit-1' } }],
      }),
    });
    assert.is(viaBundle.body.entry[0].response.status, '405');
    assert.is((await get('/AuditEvent/audit-1')).status, 200, 'still there');
  });

  t('Patient read and search by identifier and name', async () => {
    const { status, body } = await get('/Patient/p1');
    assert.is(status, 200);
    assert.equal(body, {
      resourceType: 'Patient',
      id: 'p1',
      meta: { versionId: '1', lastUpdated: body.meta.lastUpdated },
      identifier: [
        {
          type: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v2-0203',
                code: 'MR',
                display: 'Medical record number',
              },
            ],
          },
          system: MRN_SYSTEM,
          value: 'MRN-0001',
        },
      ],
      name: [{ family: 'Doe', given: ['Jane'] }],
      gender: 'female',
      birthDate: '1950-04-02',
    });
    const ids = async (query: string) => {
      const res = await get(`/Patient?${query}`);
      assert.is(res.status, 200, query);
      assert.is(res.body.total, (res.body.entry ?? []).length);
      return (res.body.entry ?? []).map((e: Json) => e.resource.id);
    };
    assert.equal(await ids(`identifier=${MRN_SYSTEM}|MRN-0002`), ['p2']);
    assert.equal(await ids('identifier=MRN-0002'), ['p2']);
    assert.equal(await ids('identifier=MRN-0001,MRN-0003'), ['p1', 'p3']);
    assert.equal(await ids('identifier=http://other|MRN-0002'), []);
    assert.equal(await ids('identifier=|MRN-0002'), []);
    // A person's names are blind indexes of whole words (crypto/phi-index.ts): case and accents
    // do not matter, prefixes do not match.
    assert.equal(await ids('name=doe'), ['p1']);
    assert.equal(await ids('name=SMITH'), ['p2']);
    assert.equal(await ids('name=jane'), ['p1']);
    assert.equal(await ids('name=do'), []);
    assert.equal(await ids('name=oe'), []);
    assert.equal(await ids('name=neil'), ['p3']);
    assert.equal(await ids('name=%25'), []);
    assert.equal(await ids('birthdate=lt1945'), ['p2']);
    assert.equal(await ids('name=smith&identifier=MRN-0002'), ['p2']);
    const paged = await get('/Patient?_count=2');
    assert.is(paged.body.total, 3);
    assert.is(
      paged.body.link.find((l: Json) => l.relation === 'next').url,
      'http://localhost/Patient?_count=2&_offset=2',
    );
  });

  t('links follow the mount point, or baseUrl when given', async () => {
    const parent = new Hono().route('/fhir/R4', app);
    const res = await parent.request('http://ehr.example:8080/fhir/R4/Patient?_count=1');
    const body: Json = await res.json();
    assert.is(
      body.link.find((l: Json) => l.relation === 'next').url,
      'http://ehr.example:8080/fhir/R4/Patient?_count=1&_offset=1',
    );
    assert.is(
      body.entry[0].fullUrl,
      `http://ehr.example:8080/fhir/R4/Patient/${body.entry[0].resource.id}`,
    );
    const meta: Json = await (
      await parent.request('http://ehr.example:8080/fhir/R4/metadata')
    ).json();
    assert.is(meta.implementation.url, 'http://ehr.example:8080/fhir/R4');

    const fixed = fhirAppAs(database.db, undefined, { baseUrl: 'https://fhir.example.org/R4/' });
    const viaFixed: Json = await (await fixed.request('/Patient?name=doe')).json();
    assert.is(viaFixed.entry[0].fullUrl, 'https://fhir.example.org/R4/Patient/p1');
    assert.is(viaFixed.link[0].url, 'https://fhir.example.org/R4/Patient?name=doe&_count=50');
  });

  t.run();
}
