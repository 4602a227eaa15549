import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import type { FhirResource } from '../../fhir/store/validate.ts';
import { NPI_SYSTEM } from '../appointments/npi.ts';
import { RXNORM_SYSTEM } from './drug-catalog.ts';
import { type NewRx, RXNORM_INGREDIENT_QUALIFIER } from './ncpdp-script.ts';
import type { PharmacySettings } from './options.ts';
import { QUANTITY_UNITS } from './order.ts';

/** A prescription that cannot become a NewRx (retrying will not help). */
export class UnsendablePrescription extends Error {}

interface Row {
  id: string;
  patientId: string;
  pharmacyId: string;
  messageId: string;
}

type HumanName = { given?: string[]; family?: string; text?: string };

function firstName(resource: FhirResource | null | undefined): HumanName | undefined {
  return (resource?.name as HumanName[] | undefined)?.[0];
}

/** The NewRx for a signed prescription, from its MedicationRequest, Patient and Practitioner. */
export async function newRxOf(
  db: Db,
  row: Row,
  settings: PharmacySettings,
  sentAt: number,
): Promise<NewRx> {
  const store = new ResourceStore(db);
  const request = (await store.read('MedicationRequest', row.id))?.resource;
  if (!request) throw new UnsendablePrescription(`MedicationRequest/${row.id} is missing`);
  const patient = (await store.read('Patient', row.patientId))?.resource;
  const requester = (request.requester as { reference?: string } | undefined)?.reference ?? '';
  const practitioner = requester.startsWith('Practitioner/')
    ? (await store.read('Practitioner', requester.slice('Practitioner/'.length)))?.resource
    : undefined;
  const patientName = firstName(patient);
  if (!patient || !patientName?.family || !patientName.given?.[0])
    throw new UnsendablePrescription('the patient has no family and given name');
  if (typeof patient.birthDate !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(patient.birthDate))
    throw new UnsendablePrescription('the patient has no full birth date');
  const npi = (practitioner?.identifier as { system?: string; value?: string }[] | undefined)?.find(
    (i) => i.system === NPI_SYSTEM,
  )?.value;
  if (!npi) throw new UnsendablePrescription(`the prescriber (${requester}) has no NPI`);
  const concept = request.medicationCodeableConcept as {
    text?: string;
    coding?: { system?: string; code?: string; display?: string }[];
  };
  const rxnorm = concept?.coding?.find((c) => c.system === RXNORM_SYSTEM);
  const dispense = request.dispenseRequest as {
    numberOfRepeatsAllowed: number;
    quantity: { value: number; unit: keyof typeof QUANTITY_UNITS };
    expectedSupplyDuration: { value: number };
  };
  const unitCode = QUANTITY_UNITS[dispense?.quantity?.unit];
  if (!rxnorm?.code || !unitCode) throw new UnsendablePrescription('the request is not codable');
  const gender = patient.gender === 'male' ? 'M' : patient.gender === 'female' ? 'F' : 'U';
  const doctor = firstName(practitioner);
  return {
    messageId: row.messageId,
    sentAt,
    from: settings.senderId,
    prescriberOrderNumber: row.id,
    patient: {
      lastName: patientName.family,
      firstName: patientName.given[0],
      gender,
      birthDate: patient.birthDate,
    },
    pharmacy: {
      ncpdpId: row.pharmacyId,
      ...(settings.ncpdpId === row.pharmacyId && settings.name && { name: settings.name }),
    },
    prescriber: {
      npi,
      lastName: doctor?.family ?? doctor?.text ?? 'unknown',
      firstName: doctor?.given?.[0],
    },
    medication: {
      description: concept.text ?? rxnorm.display ?? `RxNorm ${rxnorm.code}`,
      rxnorm: rxnorm.code,
      rxnormQualifier: RXNORM_INGREDIENT_QUALIFIER,
      quantity: { value: dispense.quantity.value, unitCode },
      daysSupply: dispense.expectedSupplyDuration.value,
      writtenDate: String(request.authoredOn).slice(0, 10),
      substitutions:
        (request.substitution as { allowedBoolean?: boolean } | undefined)?.allowedBoolean === false
          ? 1
          : 0,
      refills: dispense.numberOfRepeatsAllowed,
      sig: (request.dosageInstruction as { text: string }[])[0]?.text ?? '',
    },
  };
}
