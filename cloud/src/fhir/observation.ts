import { type ParameterTerm, termFor } from '@wardgate/shared';
import type { readings } from '../db/schema.ts';
import { rangeAndInterpretation } from './reference-ranges.ts';
import type { FhirResource } from './store/validate.ts';

export const LOINC_SYSTEM = 'http://loinc.org';
export const MDC_SYSTEM = 'urn:iso:std:iso:11073:10101';
export const UCUM_SYSTEM = 'http://unitsofmeasure.org';
export const OBSERVATION_CATEGORY_SYSTEM =
  'http://terminology.hl7.org/CodeSystem/observation-category';
/** Identifies a charted Observation by patient, parameter and chart slot. */
export const CHART_IDENTIFIER_SYSTEM = 'urn:wardgate:charted-observation';

export type ReadingRow = typeof readings.$inferSelect;

interface Coding {
  system: string;
  code: string;
  display?: string;
}

export interface ChartEntry {
  id: string;
  /** `{patientId}/{parameter}/{slot start ISO}`, unique per chart slot. */
  identifier: string;
  patientId: string;
  encounterId: string | null;
  /** When the chart slot was charted. */
  issued: number;
}

/**
 * A device reading as a charted vital-sign Observation: `preliminary` until a nurse validates it,
 * with the device that measured it, the adult reference range and an interpretation. Elements in
 * the order of the FHIR definition, so the JSON reads like a FHIR example.
 */
export function chartedObservation(
  reading: ReadingRow,
  entry: ChartEntry,
): FhirResource & { id: string } {
  const term = termFor(reading.parameter);
  const judged = term ? rangeAndInterpretation(reading.parameter, reading.value, term.ucum) : {};
  return {
    resourceType: 'Observation',
    id: entry.id,
    identifier: [{ system: CHART_IDENTIFIER_SYSTEM, value: entry.identifier }],
    status: 'preliminary',
    ...(term?.vitalSign && {
      category: [
        {
          coding: [
            { system: OBSERVATION_CATEGORY_SYSTEM, code: 'vital-signs', display: 'Vital Signs' },
          ],
        },
      ],
    }),
    code: term ? codeOf(term) : { text: reading.parameter },
    subject: { reference: `Patient/${entry.patientId}` },
    ...(entry.encounterId && { encounter: { reference: `Encounter/${entry.encounterId}` } }),
    effectiveDateTime: iso(reading.deviceTime),
    issued: iso(entry.issued),
    valueQuantity: term
      ? { value: reading.value, unit: reading.unit, system: UCUM_SYSTEM, code: term.ucum }
      : { value: reading.value, unit: reading.unit },
    ...(judged.interpretation && { interpretation: judged.interpretation }),
    device: { reference: `Device/${reading.gatewayId}.${reading.deviceId}` },
    ...(judged.referenceRange && { referenceRange: judged.referenceRange }),
  };
}

function codeOf(term: ParameterTerm): { coding: Coding[]; text: string } {
  const coding: Coding[] = [];
  // Not every device parameter has a LOINC code (infusion pump terms have none).
  if (term.loinc) {
    coding.push({
      system: LOINC_SYSTEM,
      code: term.loinc,
      display: term.loincDisplay ?? term.display,
    });
  }
  coding.push({ system: MDC_SYSTEM, code: String(term.mdcCode), display: term.mdc });
  return { coding, text: term.display };
}

function iso(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
