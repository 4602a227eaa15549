import { chartedObservation } from '@wardgate/cloud/src/fhir/observation.ts';
import type { FhirResource } from '@wardgate/cloud/src/fhir/store/validate.ts';

/** The benchmark's ward history: 1,000 patients, four vital signs charted every 15 minutes. */
export const PATIENTS = 1000;
export const PARAMETERS = [
  { mdc: 'MDC_ECG_HEART_RATE', loinc: '8867-4', unit: '/min', base: 60, spread: 50 },
  { mdc: 'MDC_PULS_OXIM_SAT_O2', loinc: '59408-5', unit: '%', base: 88, spread: 12 },
  { mdc: 'MDC_RESP_RATE', loinc: '9279-1', unit: '/min', base: 10, spread: 20 },
  { mdc: 'MDC_TEMP_BODY', loinc: '8310-5', unit: 'Cel', base: 35.5, spread: 3 },
] as const;
export const FIRST_SLOT = Date.UTC(2025, 0, 1);
export const SLOT_MS = 15 * 60_000;

/** Where the i-th Observation falls: patient, parameter and time. */
export function observationSlot(i: number) {
  const round = Math.floor(i / PATIENTS);
  return {
    patientId: `p${i % PATIENTS}`,
    parameter: PARAMETERS[round % PARAMETERS.length],
    time: FIRST_SLOT + Math.floor(round / PARAMETERS.length) * SLOT_MS,
  };
}

/** The i-th Observation as charting writes it (without id and meta when `id` is omitted). */
export function benchObservation(i: number, id?: string): FhirResource {
  const { patientId, parameter, time } = observationSlot(i);
  const resource: FhirResource = chartedObservation(
    {
      gatewayId: 'ward-bench',
      seq: i + 1,
      deviceId: `bed-${i % PATIENTS}-monitor`,
      bedId: `bed-${i % PATIENTS}`,
      parameter: parameter.mdc,
      value:
        Math.round((parameter.base + ((i * 7919) % 1000) / (1000 / parameter.spread)) * 10) / 10,
      unit: parameter.unit,
      deviceTime: time,
      gatewayTime: time + 50,
      quality: 'valid',
      patientId,
      receivedAt: time + 500,
    },
    {
      id: id ?? `obs-${i}`,
      identifier: `${patientId}/${parameter.mdc}/${new Date(time).toISOString()}`,
      patientId,
      encounterId: null,
      issued: time + SLOT_MS,
    },
  );
  if (id === undefined) delete resource.id;
  return resource;
}
