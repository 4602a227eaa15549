import { z } from 'zod';
import { ApiError } from '../../http/json-body.ts';
import { type Drug, drugByRxcui } from './drug-catalog.ts';

/** Dispensing units a NewRx can carry, with their NCPDP (NCI thesaurus) unit codes. */
export const QUANTITY_UNITS = {
  tablet: 'C48542',
  capsule: 'C48480',
  mL: 'C28254',
} as const;

/** Free text that goes into a NewRx: printable, no control characters but tab and newline. */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((v) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(v), {
      message: 'control characters are not allowed',
    });

export const medicationSchema = z
  .object({
    /** RxNorm ingredient code from the drug list (GET /prescriptions/drugs). */
    rxnorm: z.string().regex(/^\d{1,10}$/, 'an RxNorm code (digits)'),
    /** Strength and form as written, e.g. "500 mg capsule". */
    strength: text(100).optional(),
    sig: text(1000),
    quantity: z
      .object({
        value: z.number().positive().max(10_000),
        unit: z.enum(Object.keys(QUANTITY_UNITS) as [keyof typeof QUANTITY_UNITS]),
      })
      .strict(),
    daysSupply: z.number().int().min(1).max(365),
    refills: z.number().int().min(0).max(11),
    substitutionAllowed: z.boolean().default(true),
  })
  .strict();

const overrideSchema = z
  .object({
    alertId: z.string().min(1).max(300),
    reason: z.string().trim().min(3, 'an override reason of at least 3 characters').max(1000),
  })
  .strict();

export const checkBodySchema = z
  .object({ medications: z.array(medicationSchema).min(1).max(10) })
  .strict();

export const signBodySchema = z
  .object({
    medications: z.array(medicationSchema).min(1).max(10),
    overrides: z.array(overrideSchema).max(200).default([]),
    /** The patient's pharmacy (NCPDP id); the configured pharmacy when absent. */
    pharmacyNcpdpId: z
      .string()
      .regex(/^\d{7}$/, 'a 7-digit NCPDP id')
      .optional(),
  })
  .strict();

export type MedicationOrder = z.infer<typeof medicationSchema>;
export type OrderedMedication = MedicationOrder & { drug: Drug };

/** Each medication with its catalog drug; 400 for a code the checks cannot reason about. */
export function resolveOrder(medications: MedicationOrder[]): OrderedMedication[] {
  return medications.map((m, i) => {
    const drug = drugByRxcui(m.rxnorm);
    if (!drug)
      throw new ApiError(
        400,
        'unknown_drug',
        `medications.${i}.rxnorm: RxNorm ${m.rxnorm} is not in the drug list (GET /api/telehealth/prescriptions/drugs)`,
      );
    return { ...m, drug };
  });
}

/** "amoxicillin 500 mg capsule": the NewRx DrugDescription and the FHIR medication text. */
export function drugDescription(m: OrderedMedication): string {
  return m.strength ? `${m.drug.name} ${m.strength}` : m.drug.name;
}
