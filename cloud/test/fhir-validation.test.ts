// Validation against the R4 structure definitions: the official examples pass (but for the few
// the HL7 package itself gets wrong), and each kind of mistake comes back as a 400
// OperationOutcome with one issue per problem and the path of each.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openDatabase } from '../src/db/database.ts';
import { validateStructure } from '../src/fhir/validation/validate-structure.ts';
import { fhirAppAs } from './support/access.ts';

// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON bodies are checked field by field below.
type Json = any;

const examplesDir = dirname(
  createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'),
);

/**
 * Examples in hl7.fhir.r4.examples 4.0.1 that break their own structure definitions (checked by
 * hand): nested Questionnaire items without the required linkId, extension SearchParameters
 * without base, and the FHIR ImplementationGuide (twice) without name and status.
 */
const KNOWN_INVALID = new Set([
  'ImplementationGuide-fhir.json',
  'ig-r4.json',
  'Questionnaire-qs1.json',
  ...['author', 'effective', 'end', 'keyword', 'workflow'].flatMap((p) => [
    `SearchParameter-codesystem-extensions-CodeSystem-${p}.json`,
    `SearchParameter-valueset-extensions-ValueSet-${p}.json`,
  ]),
]);

test('all 5,000+ official R4 examples validate, except the ones HL7 ships broken', () => {
  const failing: string[] = [];
  let checked = 0;
  for (const file of readdirSync(examplesDir).sort()) {
    if (!file.endsWith('.json') || file === 'package.json' || file.startsWith('.')) continue;
    const resource = JSON.parse(readFileSync(join(examplesDir, file), 'utf8'));
    if (typeof resource.resourceType !== 'string') continue;
    checked++;
    if (validateStructure(resource).length > 0) failing.push(file);
  }
  assert.ok(checked > 5000, `${checked} examples`);
  assert.equal(failing, [...KNOWN_INVALID].sort());
});

test('each kind of structural mistake is a 400 with one issue per problem and its path', async () => {
  const database = await openDatabase({});
  try {
    const app = new Hono().route('/fhir/R4', fhirAppAs(database.db));
    const post = async (body: Json) => {
      const res = await app.request('http://localhost/fhir/R4/Encounter', {
        method: 'POST',
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const r = await post({
      resourceType: 'Encounter',
      status: 'sleeping',
      identifier: { value: 'not-an-array' },
      colour: 'red',
      period: { start: 'yesterday' },
      length: { value: 'long' },
      participant: [{ individual: { reference: 5 } }],
      contained: [{ resourceType: 'Location', status: 'open' }],
    });
    assert.is(r.status, 400);
    assert.is(r.body.resourceType, 'OperationOutcome');
    const issues = r.body.issue.map((i: Json) => [i.code, i.expression[0]]);
    assert.equal(issues.sort(), [
      ['code-invalid', 'Encounter.contained[0].status'],
      ['code-invalid', 'Encounter.status'],
      ['required', 'Encounter.class'],
      ['structure', 'Encounter.colour'],
      ['structure', 'Encounter.identifier'],
      ['value', 'Encounter.length.value'],
      ['value', 'Encounter.participant[0].individual.reference'],
      ['value', 'Encounter.period.start'],
    ]);
    const byPath = new Map(r.body.issue.map((i: Json) => [i.expression[0], i.diagnostics]));
    assert.match(
      String(byPath.get('Encounter.status')),
      /"sleeping" is not in the required value set/,
    );
    assert.match(String(byPath.get('Encounter.identifier')), /must be an array/);
    assert.match(String(byPath.get('Encounter.colour')), /unknown element/);
    assert.match(
      String(byPath.get('Encounter.period.start')),
      /"yesterday" is not a valid dateTime/,
    );

    const choice = await app.request('http://localhost/fhir/R4/Condition', {
      method: 'POST',
      body: JSON.stringify({
        resourceType: 'Condition',
        subject: { reference: 'Patient/p1' },
        onsetDateTime: '2020-01-01',
        onsetString: 'in spring',
      }),
    });
    assert.is(choice.status, 400);
    assert.match(
      (await choice.json()).issue[0].diagnostics,
      /only one of onsetDateTime, onsetString/,
    );

    const ok = await post({ resourceType: 'Encounter', status: 'planned', class: { code: 'AMB' } });
    assert.is(ok.status, 201);
  } finally {
    await database.close();
  }
});

test.run();
