// Batch and transaction Bundles on PGlite and PostgreSQL: references between entries resolved,
// all-or-nothing transactions, conditional creates, each batch entry on its own.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FHIR_BASE as BASE, fhirHarness, type Json } from './support/fhir-harness.ts';
import { testDatabaseTargets } from './support/test-database.ts';

for (const target of testDatabaseTargets()) {
  const t = suite(`fhir bundles (${target.name})`);
  const fhir = fhirHarness(t, target);
  const call = fhir.call;
  const transaction = (entry: Json[], type = 'transaction') =>
    call('POST', '', { resourceType: 'Bundle', type, entry });

  t('a transaction creates linked resources; urn:uuid references become the new ids', async () => {
    const r = await transaction([
      {
        fullUrl: 'urn:uuid:0c5b7e1a-1111-4a5e-9a1e-000000000001',
        resource: {
          resourceType: 'Encounter',
          status: 'in-progress',
          class: { code: 'IMP' },
          location: [{ location: { reference: 'urn:uuid:0c5b7e1a-1111-4a5e-9a1e-000000000002' } }],
        },
        request: { method: 'POST', url: 'Encounter' },
      },
      {
        fullUrl: 'urn:uuid:0c5b7e1a-1111-4a5e-9a1e-000000000002',
        resource: { resourceType: 'Location', name: 'Ward 3, bed 12' },
        request: { method: 'POST', url: 'Location' },
      },
    ]);
    assert.is(r.status, 200, JSON.stringify(r.body));
    assert.is(r.body.type, 'transaction-response');
    assert.equal(
      r.body.entry.map((e: Json) => e.response.status),
      ['201', '201'],
    );
    const [encounter, location] = r.body.entry.map((e: Json) => e.resource);
    assert.is(encounter.location[0].location.reference, `Location/${location.id}`);
    assert.match(
      r.body.entry[1].response.location,
      new RegExp(`^Location/${location.id}/_history/1$`),
    );
    const stored = await call('GET', `/Encounter/${encounter.id}`);
    assert.is(stored.body.location[0].location.reference, `Location/${location.id}`);
    const found = await call('GET', `/Encounter?location.name=ward%203`);
    assert.is(found.body.total, 1, 'the new reference is indexed');
  });

  t('all or nothing: a failing entry rolls back the others and says which it was', async () => {
    const created = await call('POST', '/Practitioner', {
      resourceType: 'Practitioner',
      name: [{ family: 'Stale' }],
    });
    const r = await transaction([
      {
        resource: { resourceType: 'Organization', name: 'Should not exist' },
        request: { method: 'POST', url: 'Organization' },
      },
      {
        resource: { ...created.body, active: true },
        request: { method: 'PUT', url: `Practitioner/${created.body.id}`, ifMatch: 'W/"7"' },
      },
    ]);
    assert.is(r.status, 412);
    assert.is(r.body.resourceType, 'OperationOutcome');
    assert.match(
      r.body.issue[0].diagnostics,
      /Transaction failed at entry 1 \(PUT Practitioner\/.*\), nothing was written: .*not 7/,
    );
    assert.is((await call('GET', '/Organization?name=should')).body.total, 0);
    assert.is((await call('GET', `/Practitioner/${created.body.id}`)).body.meta.versionId, '1');

    const dangling = await transaction([
      {
        resource: {
          resourceType: 'Encounter',
          status: 'planned',
          class: { code: 'AMB' },
          serviceProvider: { reference: 'urn:uuid:9d7e1b2c-0000-4000-8000-00000000beef' },
        },
        request: { method: 'POST', url: 'Encounter' },
      },
    ]);
    assert.is(dangling.status, 400);
    assert.match(dangling.body.issue[0].diagnostics, /names no resource created in this Bundle/);
  });

  t('conditional create in a transaction: references point at the existing match', async () => {
    const existing = await call('POST', '/Organization', {
      resourceType: 'Organization',
      identifier: [{ system: 'urn:test:org', value: 'H1' }],
      name: 'Hospital One',
    });
    const r = await transaction([
      {
        fullUrl: 'urn:uuid:3f1c2a4e-2222-4c1d-8f00-000000000001',
        resource: {
          resourceType: 'Organization',
          identifier: [{ system: 'urn:test:org', value: 'H1' }],
          name: 'Hospital One',
        },
        request: { method: 'POST', url: 'Organization', ifNoneExist: 'identifier=urn:test:org|H1' },
      },
      {
        resource: {
          resourceType: 'Location',
          name: 'Main building',
          managingOrganization: { reference: 'urn:uuid:3f1c2a4e-2222-4c1d-8f00-000000000001' },
        },
        request: { method: 'POST', url: 'Location' },
      },
    ]);
    assert.is(r.status, 200, JSON.stringify(r.body));
    assert.is(r.body.entry[0].response.status, '200');
    assert.is(r.body.entry[0].resource.id, existing.body.id);
    assert.is(
      r.body.entry[1].resource.managingOrganization.reference,
      `Organization/${existing.body.id}`,
    );
  });

  t(
    'a batch runs each entry on its own: reads, searches, patches and failures side by side',
    async () => {
      const device = await call('POST', '/Device', { resourceType: 'Device', status: 'active' });
      const patch = Buffer.from(
        JSON.stringify([{ op: 'replace', path: '/status', value: 'inactive' }]),
      ).toString('base64');
      const r = await transaction(
        [
          { request: { method: 'GET', url: `Device/${device.body.id}` } },
          { request: { method: 'GET', url: `Device?_id=${device.body.id}` } },
          {
            resource: { resourceType: 'Device', status: '' },
            request: { method: 'POST', url: 'Device' },
          },
          { request: { method: 'GET', url: 'Device/does-not-exist' } },
          {
            resource: {
              resourceType: 'Binary',
              contentType: 'application/json-patch+json',
              data: patch,
            },
            request: { method: 'PATCH', url: `Device/${device.body.id}` },
          },
          { request: { method: 'GET', url: 'Specimen/1' } },
        ],
        'batch',
      );
      assert.is(r.status, 200);
      assert.is(r.body.type, 'batch-response');
      assert.equal(
        r.body.entry.map((e: Json) => e.response.status),
        ['200', '200', '400', '404', '200', '404'],
      );
      assert.is(r.body.entry[1].resource.total, 1);
      assert.match(
        r.body.entry[2].response.outcome.issue[0].diagnostics,
        /Device\.status: empty string/,
      );
      assert.is(r.body.entry[4].resource.status, 'inactive');
      // The reads ran after the patch (FHIR's order: writes first), so they see it too.
      assert.is(r.body.entry[0].resource.status, 'inactive');
    },
  );

  t('what is not a batch or transaction Bundle is a 400', async () => {
    const notBundle = await call('POST', '', { resourceType: 'Patient' });
    assert.is(notBundle.status, 400);
    const collection = await call('POST', '', { resourceType: 'Bundle', type: 'collection' });
    assert.is(collection.status, 400);
    assert.match(collection.body.issue[0].diagnostics, /transaction or batch/);
    const badJson = await fhir.app.request(`${BASE}`, { method: 'POST', body: '{"resourceType":' });
    assert.is(badJson.status, 400);
  });

  t.run();
}
