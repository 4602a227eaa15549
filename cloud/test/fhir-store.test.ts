// The versioned FHIR interactions on the stored resource types, on PGlite and on PostgreSQL:
// every type round-trips the official R4 examples (hl7.fhir.r4.examples, not written by us)
// through create, read, update, vread and history; then If-Match, JSON Patch, delete, conditional
// create and the errors a client gets for bad input.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { checkResource, READ_ONLY_TYPES, STORED_TYPES } from '../src/fhir/store/validate.ts';
import { FHIR_BASE as BASE, fhirHarness, type Json } from './support/fhir-harness.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const examplesDir = dirname(
  createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'),
);

/** The official examples of a type (file names `Type-*.json`), at most `limit`. */
function examples(type: string, limit: number): Json[] {
  return readdirSync(examplesDir)
    .filter((f) => f.startsWith(`${type}-`) && f.endsWith('.json'))
    .sort()
    .slice(0, limit)
    .map((f) => JSON.parse(readFileSync(join(examplesDir, f), 'utf8')))
    .filter((r) => r.resourceType === type);
}

/** The example without what the server owns (id, meta.versionId, meta.lastUpdated). */
function clientPart(resource: Json): Json {
  const { id: _id, meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...clientMeta } = meta ?? {};
  return Object.keys(clientMeta).length > 0 ? { ...rest, meta: clientMeta } : rest;
}

for (const target of testDatabaseTargets()) {
  const t = suite(`fhir store (${target.name})`);
  const fhir = fhirHarness(t, target);
  const call = fhir.call;

  t(
    'every stored type round-trips official examples: create, read, update, vread, history',
    async () => {
      let total = 0;
      for (const type of STORED_TYPES) {
        const list = examples(type, 3);
        assert.ok(list.length > 0, `hl7.fhir.r4.examples has ${type} examples`);
        for (const example of list) {
          // A read-only type (AuditEvent) is written by the server itself, through the store.
          const readOnly = READ_ONLY_TYPES.has(type);
          const write = async (method: 'POST' | 'PUT', path: string, body: Json, headers = {}) => {
            if (!readOnly) return call(method, path, body, headers);
            const store = new ResourceStore(fhir.db);
            const resource = checkResource(structuredClone(body), type);
            const version =
              method === 'POST'
                ? await store.create(resource)
                : (await store.update(resource, 1)).version;
            return {
              status: method === 'POST' ? 201 : 200,
              body: version.resource as Json,
              res: null,
            };
          };
          const created = await write('POST', `/${type}`, example);
          assert.is(created.status, 201, `${type} ${example.id}: ${JSON.stringify(created.body)}`);
          const id = created.body.id;
          assert.match(id, /^[0-9a-f-]{36}$/, 'the server assigns the id');
          assert.is(created.body.meta.versionId, '1');
          if (created.res) {
            assert.is(created.res.headers.get('etag'), 'W/"1"');
            assert.is(created.res.headers.get('location'), `${BASE}/${type}/${id}/_history/1`);
          }
          assert.equal(clientPart(created.body), clientPart(example), `${type} ${example.id} kept`);

          const read = await call('GET', `/${type}/${id}`);
          assert.is(read.status, 200);
          assert.equal(read.body, created.body);

          const changed = { ...read.body, language: 'en-GB' };
          const updated = await write('PUT', `/${type}/${id}`, changed, { 'if-match': 'W/"1"' });
          assert.is(updated.status, 200, JSON.stringify(updated.body));
          assert.is(updated.body.meta.versionId, '2');
          assert.is(updated.body.language, 'en-GB');
          if (readOnly)
            assert.is(
              (await call('PUT', `/${type}/${id}`, changed)).status,
              405,
              'not via the API',
            );

          const v1 = await call('GET', `/${type}/${id}/_history/1`);
          assert.equal(v1.body, created.body, 'version 1 is kept as it was');
          const history = await call('GET', `/${type}/${id}/_history`);
          assert.is(history.body.type, 'history');
          assert.equal(
            history.body.entry.map((e: Json) => [e.request.method, e.response.etag]),
            [
              ['PUT', 'W/"2"'],
              ['POST', 'W/"1"'],
            ],
          );
          total++;
        }
      }
      assert.ok(total >= STORED_TYPES.length);
    },
  );

  t('If-Match: a stale version is 412 and changes nothing', async () => {
    const created = await call('POST', '/Practitioner', {
      resourceType: 'Practitioner',
      name: [{ family: 'Okafor', given: ['Ada'] }],
    });
    const id = created.body.id;
    const first = { ...created.body, active: true };
    assert.is(
      (await call('PUT', `/Practitioner/${id}`, first, { 'if-match': 'W/"1"' })).status,
      200,
    );
    const stale = await call(
      'PUT',
      `/Practitioner/${id}`,
      { ...first, active: false },
      {
        'if-match': 'W/"1"',
      },
    );
    assert.is(stale.status, 412);
    assert.is(stale.body.resourceType, 'OperationOutcome');
    assert.match(stale.body.issue[0].diagnostics, /at version 2, not 1/);
    assert.is((await call('GET', `/Practitioner/${id}`)).body.active, true);
    const bad = await call('PUT', `/Practitioner/${id}`, first, { 'if-match': 'yesterday' });
    assert.is(bad.status, 400);
  });

  t('update of a new id creates it (201); the id in the body must match the URL', async () => {
    const body = { resourceType: 'Location', id: 'ward-7-bed-3', name: 'Ward 7, bed 3' };
    const created = await call('PUT', '/Location/ward-7-bed-3', body);
    assert.is(created.status, 201);
    assert.is(created.body.id, 'ward-7-bed-3');
    const mismatch = await call('PUT', '/Location/ward-7-bed-4', body);
    assert.is(mismatch.status, 400);
    assert.match(mismatch.body.issue[0].diagnostics, /URL names Location\/ward-7-bed-4/);
  });

  t(
    'JSON Patch: applied as a new version; a failed test op is 409; bad patches 400 / 415',
    async () => {
      const created = await call('POST', '/Condition', {
        resourceType: 'Condition',
        subject: { reference: 'Patient/p1' },
        clinicalStatus: { coding: [{ code: 'active' }] },
      });
      const id = created.body.id;
      const patch = [
        { op: 'test', path: '/clinicalStatus/coding/0/code', value: 'active' },
        { op: 'replace', path: '/clinicalStatus/coding/0/code', value: 'resolved' },
      ];
      const json = { 'content-type': 'application/json-patch+json' };
      const patched = await call('PATCH', `/Condition/${id}`, patch, json);
      assert.is(patched.status, 200, JSON.stringify(patched.body));
      assert.is(patched.body.clinicalStatus.coding[0].code, 'resolved');
      assert.is(patched.body.meta.versionId, '2');
      const failed = await call('PATCH', `/Condition/${id}`, patch, json);
      assert.is(failed.status, 409);
      const wrongType = await call(
        'PATCH',
        `/Condition/${id}`,
        [{ op: 'replace', path: '/resourceType', value: 'Patient' }],
        json,
      );
      assert.is(wrongType.status, 400);
      assert.is((await call('PATCH', `/Condition/${id}`, patch)).status, 415);
      assert.is((await call('PATCH', `/Condition/${id}`, '[{"op":"jump"}]', json)).status, 400);
      assert.is((await call('GET', `/Condition/${id}`)).body.meta.versionId, '2');
    },
  );

  t('delete: 410 Gone afterwards, history kept, a second delete is harmless', async () => {
    const created = await call('POST', '/Device', { resourceType: 'Device', status: 'active' });
    const id = created.body.id;
    assert.is((await call('DELETE', `/Device/${id}`)).status, 204);
    const gone = await call('GET', `/Device/${id}`);
    assert.is(gone.status, 410);
    assert.is(gone.body.issue[0].code, 'deleted');
    assert.is((await call('DELETE', `/Device/${id}`)).status, 204);
    const history = await call('GET', `/Device/${id}/_history`);
    assert.equal(
      history.body.entry.map((e: Json) => e.request.method),
      ['DELETE', 'POST'],
    );
    assert.is((await call('GET', `/Device/${id}/_history/1`)).body.status, 'active');
    assert.is((await call('GET', `/Device/${id}/_history/2`)).status, 410);
    assert.is((await call('GET', `/Device/${id}/_history/9`)).status, 404);
    const found = await call('GET', `/Device?_id=${id}`);
    assert.is(found.body.total, 0, 'a deleted resource is not found by search');
  });

  t('conditional create: If-None-Exist returns the match instead of a duplicate', async () => {
    const org = {
      resourceType: 'Organization',
      identifier: [{ system: 'urn:oid:2.16.840.1.113883.4.7', value: 'ORG-42' }],
      name: 'St Elsewhere',
    };
    const header = { 'if-none-exist': 'identifier=urn:oid:2.16.840.1.113883.4.7|ORG-42' };
    const first = await call('POST', '/Organization', org, header);
    assert.is(first.status, 201);
    const again = await call('POST', '/Organization', org, header);
    assert.is(again.status, 200);
    assert.is(again.body.id, first.body.id);
    const unsupported = await call('POST', '/Organization', org, { 'if-none-exist': 'name=x' });
    assert.is(unsupported.status, 400);
  });

  t('search by _id and _lastUpdated, type history with paging', async () => {
    const ids: string[] = [];
    for (const code of ['a', 'b', 'c']) {
      const r = await call('POST', '/Medication', {
        resourceType: 'Medication',
        code: { text: code },
      });
      ids.push(r.body.id);
    }
    const two = await call('GET', `/Medication?_id=${ids[0]},${ids[2]}`);
    assert.is(two.body.total, 2);
    const since = await call(
      'GET',
      `/Medication?_lastUpdated=ge${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}&_sort=-_lastUpdated&_count=2`,
    );
    assert.ok(since.body.total >= 3);
    assert.is(since.body.entry.length, 2);
    assert.ok(since.body.link.some((l: Json) => l.relation === 'next'));
    const unknown = await call('GET', '/Medication?colour=red');
    assert.is(unknown.status, 400);
    assert.match(unknown.body.issue[0].diagnostics, /unknown parameter for Medication/);
    const history = await call('GET', '/Medication/_history?_count=2');
    assert.is(history.body.type, 'history');
    assert.is(history.body.entry.length, 2);
    assert.ok(history.body.total >= 3);
  });

  t(
    'JSON only: _format and Accept negotiated, XML refused with 406 / 415, _pretty indents',
    async () => {
      const created = await call('POST', '/Schedule', {
        resourceType: 'Schedule',
        actor: [{ reference: 'Practitioner/x' }],
      });
      const id = created.body.id;
      for (const format of ['json', 'application/fhir+json', 'application/json']) {
        const r = await call('GET', `/Schedule/${id}?_format=${encodeURIComponent(format)}`);
        assert.is(r.status, 200, format);
      }
      const search = await call('GET', `/Schedule?_id=${id}&_format=json`);
      assert.is(search.body.total, 1, '_format is not a search parameter');
      assert.not.ok(search.body.link[0].url.includes('_format'));
      const xml = await call('GET', `/Schedule/${id}?_format=xml`);
      assert.is(xml.status, 406);
      assert.is(xml.body.resourceType, 'OperationOutcome');
      assert.is(
        (await call('GET', `/Schedule/${id}`, undefined, { accept: 'application/fhir+xml' }))
          .status,
        406,
      );
      assert.is(
        (
          await call('GET', `/Schedule/${id}`, undefined, {
            accept: 'application/fhir+json, */*;q=0.1',
          })
        ).status,
        200,
      );
      const xmlBody = await call('POST', '/Schedule', '<Schedule/>', {
        'content-type': 'application/fhir+xml',
      });
      assert.is(xmlBody.status, 415);
      const pretty = await fhir.app.request(`${BASE}/Schedule/${id}?_pretty=true`);
      assert.match(await pretty.text(), /\n {2}"resourceType": "Schedule"/);
    },
  );

  t('bad bodies: 400 with what is wrong, never 500', async () => {
    const cases: [unknown, RegExp][] = [
      ['{"resourceType": "Encounter",', /not valid JSON/],
      ['[1,2]', /must be a JSON object/],
      [{ resourceType: 'Patient' }, /resourceType is "Patient", expected "Encounter"/],
      [{ resourceType: 'Encounter', status: '' }, /Encounter\.status: empty string/],
      [{ resourceType: 'Encounter', class: {} }, /Encounter\.class: empty object/],
      [{ resourceType: 'Encounter', identifier: [] }, /Encounter\.identifier: empty array/],
      [{ resourceType: 'Encounter', status: null }, /Encounter\.status: null/],
    ];
    for (const [body, pattern] of cases) {
      const r = await call('POST', '/Encounter', body);
      assert.is(r.status, 400, JSON.stringify(body));
      assert.is(r.body.resourceType, 'OperationOutcome');
      assert.match(r.body.issue[0].diagnostics, pattern);
    }
    const badId = await call('PUT', '/Encounter/no_underscores', {
      resourceType: 'Encounter',
      id: 'no_underscores',
    });
    assert.is(badId.status, 400);
    assert.is((await call('GET', '/Encounter/unknown-id')).status, 404);
    const huge = await call('POST', '/Binary', {
      resourceType: 'Binary',
      contentType: 'application/octet-stream',
      data: 'A'.repeat(9 * 1048576),
    });
    assert.is(huge.status, 413);
    assert.match(huge.body.issue[0].diagnostics, /larger than 8 MB/);
  });

  t.run();
}
