// The index rows come from the official R4 search parameter expressions. Plain member paths
// (Observation.code) are read off the JSON without FHIRPath for speed; this checks, over every
// official R4 example, that each parameter yields exactly what fhirpath.js yields.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSearchExpression, searchParamsOf } from '../src/fhir/search/definitions.ts';

const examplesDir = dirname(
  createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'),
);

test('member paths give the values and types FHIRPath gives, on every official example', () => {
  let compared = 0;
  let nonEmpty = 0;
  const reference = new Map<string, ReturnType<typeof compileSearchExpression>>();
  for (const file of readdirSync(examplesDir).filter((f) => f.endsWith('.json'))) {
    const resource = JSON.parse(readFileSync(join(examplesDir, file), 'utf8'));
    if (typeof resource.resourceType !== 'string') continue;
    for (const def of searchParamsOf(resource.resourceType).values()) {
      const key = `${resource.resourceType}.${def.code}`;
      let viaFhirpath = reference.get(key);
      if (!viaFhirpath) {
        viaFhirpath = compileSearchExpression(def.expression, resource.resourceType, {
          memberPaths: false,
        });
        reference.set(key, viaFhirpath);
      }
      const run = (extract: typeof viaFhirpath) => {
        try {
          return extract(resource);
        } catch {
          return 'throws';
        }
      };
      const fast = run(def.extract);
      assert.equal(fast, run(viaFhirpath), `${file}: ${def.code}`);
      compared++;
      if (Array.isArray(fast) && fast.length > 0) nonEmpty++;
    }
  }
  assert.ok(compared > 90_000, `${compared} comparisons`);
  assert.ok(nonEmpty > 10_000, `${nonEmpty} with values`);
});

test.run();
