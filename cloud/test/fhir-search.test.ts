// Search on the stored FHIR types with the standard R4 parameters, on PGlite and PostgreSQL: each
// parameter type and modifier, the prefixes, chaining, _include / _revinclude, _sort, _summary,
// _total, and that the indexes follow updates and deletes. The official R4 examples are stored
// too, so every search runs among data it must not match.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { STORED_TYPES } from '../src/fhir/store/validate.ts';
import { fhirHarness, type Json } from './support/fhir-harness.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const UCUM = 'http://unitsofmeasure.org';
const ACT_CODE = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
const examplesDir = dirname(
  createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'),
);

for (const target of testDatabaseTargets()) {
  const t = suite(`fhir search (${target.name})`);
  const ids: Record<string, string> = {};
  const call = fhirHarness(t, target).call;
  const create = async (name: string, resource: Json) => {
    const r = await call('POST', `/${resource.resourceType}`, resource);
    assert.is(r.status, 201, JSON.stringify(r.body));
    ids[name] = r.body.id;
    return r.body.id as string;
  };
  /** The names (keys of `ids`) of the resources a search matched, sorted; 400s fail loudly. */
  const names = async (path: string) => {
    const r = await call('GET', path);
    assert.is(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
    const byId = new Map(Object.entries(ids).map(([k, v]) => [v, k]));
    return (r.body.entry ?? [])
      .filter((e: Json) => e.search.mode === 'match')
      .map((e: Json) => byId.get(e.resource.id) ?? `other:${e.resource.id}`)
      .filter((n: string) => !n.startsWith('other:'))
      .sort();
  };

  t.before(async () => {
    // Noise: the official examples of every stored type.
    for (const file of readdirSync(examplesDir).sort()) {
      const type = file.split('-')[0];
      if (!(STORED_TYPES as readonly string[]).includes(type)) continue;
      const example = JSON.parse(readFileSync(join(examplesDir, file), 'utf8'));
      if (example.resourceType === type) await call('POST', `/${type}`, example);
    }
    await create('okafor', {
      resourceType: 'Practitioner',
      active: true,
      identifier: [{ system: 'urn:wardgate:staff', value: 'N100' }],
      name: [{ family: 'Okafor', given: ['Ada'] }],
      telecom: [{ system: 'phone', value: '+44 20 7946 0000' }],
      address: [{ city: 'Zürich' }],
    });
    await create('muller', {
      resourceType: 'Practitioner',
      active: false,
      name: [{ family: 'Müller', given: ['Jonas'] }],
    });
    await create('ward7', { resourceType: 'Location', name: 'Ward 7 Intensive Care' });
    await create('stay', {
      resourceType: 'Encounter',
      status: 'in-progress',
      class: { system: ACT_CODE, code: 'IMP' },
      subject: { reference: 'Patient/p1' },
      participant: [{ individual: { reference: `Practitioner/${ids.okafor}` } }],
      location: [{ location: { reference: `Location/${ids.ward7}` } }],
      period: { start: '2024-03-01T08:00:00Z' },
      length: { value: 45, unit: 'min', system: UCUM, code: 'min' },
      reasonCode: [{ text: 'Community-acquired pneumonia' }],
    });
    await create('visit', {
      resourceType: 'Encounter',
      status: 'finished',
      class: { system: ACT_CODE, code: 'AMB' },
      subject: { reference: 'Patient/p2' },
      participant: [{ individual: { reference: `Practitioner/${ids.muller}` } }],
      period: { start: '2024-02-10T09:00:00Z', end: '2024-02-10T09:30:00Z' },
      length: { value: 30, unit: 'min', system: UCUM, code: 'min' },
    });
    await create('asthma', {
      resourceType: 'Condition',
      subject: { reference: 'Patient/p1' },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '195967001' }] },
      onsetDateTime: '2019-05',
    });
    await create('pump', {
      resourceType: 'Device',
      url: 'https://devices.example.org/pumps/7',
      status: 'active',
    });
  });

  t('string: starts-with, case and accents ignored; :exact; :contains', async () => {
    assert.equal(await names('/Practitioner?name=ok'), ['okafor']);
    assert.equal(await names('/Practitioner?name=MULLER'), ['muller']);
    assert.equal(await names('/Practitioner?family:exact=Müller'), ['muller']);
    assert.equal(await names('/Practitioner?family:exact=muller'), []);
    assert.equal(await names('/Practitioner?name:contains=afo'), ['okafor']);
    assert.equal(await names('/Practitioner?address-city=zurich'), ['okafor']);
    assert.equal(await names('/Practitioner?name=ada,jonas'), ['muller', 'okafor']);
  });

  t(
    'token: system|code, code, |code, system|, :not, :text, identifiers, booleans, telecom',
    async () => {
      assert.equal(await names(`/Encounter?class=${ACT_CODE}|IMP`), ['stay']);
      assert.equal(await names('/Encounter?class=AMB'), ['visit']);
      assert.equal(await names('/Encounter?class=|AMB'), []);
      assert.equal(await names(`/Encounter?class=${encodeURIComponent(ACT_CODE)}|`), [
        'stay',
        'visit',
      ]);
      assert.equal(await names('/Encounter?status=finished'), ['visit']);
      assert.ok(!(await names('/Encounter?status:not=finished')).includes('visit'));
      assert.ok((await names('/Encounter?status:not=finished')).includes('stay'));
      assert.equal(await names('/Encounter?reason-code:text=community'), ['stay']);
      assert.equal(await names('/Practitioner?identifier=urn:wardgate:staff|N100'), ['okafor']);
      assert.equal(await names('/Practitioner?active=false'), ['muller']);
      assert.equal(await names(`/Practitioner?telecom=${encodeURIComponent('+44 20 7946 0000')}`), [
        'okafor',
      ]);
    },
  );

  t('date: a Period is a range; prefixes eq, ge, le, gt, lt, sa, eb; open ends', async () => {
    assert.equal(await names('/Encounter?date=2024-02-10'), ['visit']);
    assert.equal(await names('/Encounter?date=ge2024-03-01'), ['stay']);
    assert.equal(await names('/Encounter?date=le2024-02-28'), ['visit']);
    // The open-ended stay reaches beyond any date: gt matches it, eq does not.
    assert.ok((await names('/Encounter?date=gt2030-01-01')).includes('stay'));
    assert.equal(await names('/Encounter?date=2024-03'), []);
    assert.equal(await names('/Encounter?date=lt2024-02-11&date=gt2024-02-09'), ['visit']);
    assert.equal(await names('/Encounter?date=sa2024-02-11&class=IMP'), ['stay']);
    assert.equal(await names('/Encounter?date=eb2024-03-01&class=AMB'), ['visit']);
    assert.equal(await names('/Condition?onset-date=2019'), ['asthma']);
    const bad = await call('GET', '/Encounter?date=yesterday');
    assert.is(bad.status, 400);
    assert.match(bad.body.issue[0].diagnostics, /Search parameter "date"/);
  });

  t('reference: Type/id, bare id, :Type, chained through a reference', async () => {
    assert.equal(await names('/Encounter?subject=Patient/p1'), ['stay']);
    assert.equal(await names('/Encounter?patient=p1'), ['stay']);
    assert.equal(await names('/Condition?subject:Patient=p1'), ['asthma']);
    assert.equal(await names(`/Encounter?participant=Practitioner/${ids.muller}`), ['visit']);
    assert.equal(await names('/Encounter?practitioner.name=okafor'), ['stay']);
    assert.equal(await names('/Encounter?participant:Practitioner.identifier=N100'), ['stay']);
    assert.equal(await names('/Encounter?location.name=ward'), ['stay']);
    const ambiguous = await call('GET', '/Encounter?participant.name=okafor');
    assert.is(ambiguous.status, 400);
    assert.match(ambiguous.body.issue[0].diagnostics, /say which type the chain goes through/);
  });

  t('quantity with prefixes and units; uri exact and :below; :missing', async () => {
    assert.equal(await names(`/Encounter?length=gt40|${UCUM}|min`), ['stay']);
    assert.equal(await names('/Encounter?length=30||min'), ['visit']);
    assert.equal(await names('/Encounter?length=le30'), ['visit']);
    assert.equal(await names('/Encounter?length=45.0'), ['stay']);
    assert.equal(await names('/Encounter?length=44.9'), []);
    assert.equal(await names('/Device?url=https://devices.example.org/pumps/7'), ['pump']);
    assert.equal(await names('/Device?url:below=https://devices.example.org/'), ['pump']);
    assert.equal(await names('/Encounter?location:missing=false&class=IMP,AMB'), ['stay']);
    assert.equal(await names('/Encounter?location:missing=true&class=IMP,AMB'), ['visit']);
  });

  t('_sort, _include, _revinclude, _summary=count, _total=none', async () => {
    const sorted = await call('GET', `/Encounter?_id=${ids.visit},${ids.stay}&_sort=-date`);
    assert.equal(
      sorted.body.entry.map((e: Json) => e.resource.id),
      [ids.stay, ids.visit],
    );
    const byName = await call('GET', `/Practitioner?_id=${ids.okafor},${ids.muller}&_sort=family`);
    assert.equal(
      byName.body.entry.map((e: Json) => e.resource.name[0].family),
      ['Müller', 'Okafor'],
    );
    const included = await call('GET', `/Encounter?_id=${ids.stay}&_include=Encounter:participant`);
    assert.equal(
      included.body.entry.map((e: Json) => [e.search.mode, e.resource.resourceType]),
      [
        ['match', 'Encounter'],
        ['include', 'Practitioner'],
      ],
    );
    const rev = await call(
      'GET',
      `/Practitioner?_id=${ids.okafor}&_revinclude=Encounter:practitioner`,
    );
    assert.equal(
      rev.body.entry.map((e: Json) => [e.search.mode, e.resource.id]),
      [
        ['match', ids.okafor],
        ['include', ids.stay],
      ],
    );
    const counted = await call('GET', `/Encounter?_id=${ids.visit},${ids.stay}&_summary=count`);
    assert.is(counted.body.total, 2);
    assert.is(counted.body.entry, undefined);
    const noTotal = await call('GET', '/Encounter?class=IMP,AMB&_total=none&_count=1');
    assert.is(noTotal.body.total, undefined);
    assert.ok(noTotal.body.link.some((l: Json) => l.relation === 'next'));
  });

  t('indexes follow updates and deletes', async () => {
    const current = (await call('GET', `/Encounter/${ids.visit}`)).body;
    await call('PUT', `/Encounter/${ids.visit}`, { ...current, status: 'cancelled' });
    assert.equal(await names('/Encounter?status=finished'), []);
    assert.equal(await names('/Encounter?status=cancelled'), ['visit']);
    await call('DELETE', `/Encounter/${ids.visit}`);
    assert.equal(await names('/Encounter?status=cancelled'), []);
    assert.equal(await names('/Encounter?patient=p2'), []);
  });

  t('unknown parameters and unsupported modifiers are 400, naming them', async () => {
    for (const [path, pattern] of [
      ['/Encounter?colour=red', /"colour": unknown parameter for Encounter/],
      ['/Encounter?status:below=x', /modifier ":below" is not supported/],
      ['/Encounter?length=about5', /not a number/],
      ['/Encounter?location:missing=maybe', /:missing takes true or false/],
      ['/Encounter?_include=Practitioner:name', /must start with Encounter/],
      ['/Encounter?_sort=subject', /cannot sort Encounter by "subject"/],
    ] as const) {
      const r = await call('GET', path);
      assert.is(r.status, 400, path);
      assert.match(r.body.issue[0].diagnostics, pattern);
    }
  });

  t.run();
}
