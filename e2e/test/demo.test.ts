// `npm run demo -- --smoke` as a user runs it: every part from its own CLI, in its own process;
// passes once FHIR serves Observations of all four device kinds, then stops everything.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const demo = fileURLToPath(new URL('../demo.ts', import.meta.url));

test('npm run demo -- --smoke: the ward goes live and every device kind reaches FHIR', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-demo-'));
  const env = {
    ...process.env,
    WARDGATE_DEMO_DIR: dir,
    CLOUD_HTTP_PORT: String(await freePort()),
    CLOUD_MQTT_PORT: String(await freePort()),
    EDGE_HTTP_PORT: String(await freePort()),
    EDGE_MLLP_PORT: String(await freePort()),
    PHARMACY_PORT: String(await freePort()),
  };
  try {
    const { code, output } = await new Promise<{ code: number | null; output: string }>(
      (resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', demo, '--smoke'], { env });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk;
        });
        child.stderr.on('data', (chunk: Buffer) => {
          output += chunk;
        });
        child.on('exit', (exitCode) => resolve({ code: exitCode, output }));
      },
    );
    assert.is(code, 0, output);
    assert.match(output, /demo: the ward is live/);
    assert.match(output, new RegExp(`nurse alarm screen  http://127.0.0.1:${env.EDGE_HTTP_PORT}/`));
    assert.match(output, new RegExp(`http://127.0.0.1:${env.CLOUD_HTTP_PORT}/fhir/R4/metadata`));
    assert.match(
      output,
      /curl -s -H "Authorization: Bearer \$TOKEN" '.*Observation\?patient=demo-0001&code=http:\/\/loinc.org\|59408-5/,
    );
    // The credentials it prints are real ones: a client id and secret, a nurse's password.
    assert.match(output, /client_id [0-9a-f-]{36}\s+client_secret \S{20,}/);
    assert.match(output, /demo\.nurse \/ \S{12,}/);
    // A visit booked through the API into the doctor's next slot, with both sides' sign-ins.
    assert.match(
      output,
      new RegExp(
        `visit page +http://127.0.0.1:${env.CLOUD_HTTP_PORT}/telehealth/visit/[0-9a-f-]{36}`,
      ),
    );
    assert.match(output, /demo\.patient \/ \S{12,}/);
    assert.match(output, /demo\.doctor \/ \S{12,}/);
    assert.match(output, /TOTP secret [A-Z2-7]{16,}/);
    // The prescription signed in that visit reached the pharmacy simulator as a NewRx.
    assert.match(output, /pharmacy simulator received 1 at/);
    assert.match(output, /smoke check passed \(monitor \d+, vent \d+, pump \d+, oxi \d+\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
