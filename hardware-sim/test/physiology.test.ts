import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PatientModel, type Vitals } from '../src/physiology.ts';

const START = 1_800_000_000_000;
const MINUTE = 60_000;
const mean = (samples: Vitals[], key: keyof Vitals) =>
  samples.reduce((sum, v) => sum + v[key], 0) / samples.length;
const sample = (patient: PatientModel, at: number) =>
  Array.from({ length: 50 }, (_, i) => patient.vitals(at + i * 1000));

test('a stable patient stays in adult normal ranges, with noise', () => {
  const patient = new PatientModel({ seed: 3, startedAt: START });
  const early = sample(patient, START);
  const late = sample(patient, START + 60 * MINUTE);
  for (const v of [...early, ...late]) {
    assert.ok(v.heartRate >= 50 && v.heartRate <= 110, `HR ${v.heartRate}`);
    assert.ok(v.spo2 >= 94 && v.spo2 <= 100, `SpO2 ${v.spo2}`);
    assert.ok(v.nibpSys > v.nibpMean && v.nibpMean > v.nibpDia, 'sys > mean > dia');
    assert.ok(v.temperature > 36 && v.temperature < 38);
  }
  assert.ok(new Set(early.map((v) => v.heartRate)).size > 1, 'values vary from second to second');
  assert.ok(Math.abs(mean(early, 'heartRate') - mean(late, 'heartRate')) < 3, 'no drift');
});

test('a deteriorating patient becomes tachycardic, tachypnoeic, hypotensive and desaturates', () => {
  const patient = new PatientModel({
    seed: 3,
    scenario: 'deteriorating',
    startedAt: START,
    deteriorationMinutes: 10,
  });
  const early = sample(patient, START);
  const late = sample(patient, START + 10 * MINUTE);
  assert.ok(mean(late, 'heartRate') - mean(early, 'heartRate') > 40);
  assert.ok(mean(late, 'respRate') - mean(early, 'respRate') > 10);
  assert.ok(mean(early, 'nibpSys') - mean(late, 'nibpSys') > 25);
  assert.ok(mean(early, 'spo2') - mean(late, 'spo2') > 10);
  assert.ok(mean(late, 'spo2') < 90, 'desaturated below 90 %');
});

test('the same seed gives the same patient', () => {
  const a = new PatientModel({ seed: 11, startedAt: START });
  const b = new PatientModel({ seed: 11, startedAt: START });
  assert.equal(sample(a, START), sample(b, START));
});

test.run();
