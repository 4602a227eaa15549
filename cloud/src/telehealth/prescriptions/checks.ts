import type { Db } from '../../db/database.ts';
import { searchStored } from '../../fhir/search/execute.ts';
import type { FhirResource } from '../../fhir/store/validate.ts';
import {
  allergenByName,
  allergyGroupsOf,
  type Drug,
  type DrugClass,
  drugByRxcui,
  type InteractionSource,
  interactionsBetween,
  RXNORM_SYSTEM,
  sharedTherapeuticClasses,
} from './drug-catalog.ts';
import type { OrderedMedication } from './order.ts';

export type AlertKind = 'interaction' | 'allergy' | 'duplicate-therapy';
export type AlertSeverity = 'contraindicated' | 'high' | 'moderate';

/** What a drug of the order was checked against. */
export interface AlertCounterpart {
  name: string;
  rxnorm?: string;
  /** An active MedicationRequest, another drug of this order, or an AllergyIntolerance. */
  source: 'active-medication' | 'this-order' | 'allergy';
  reference?: string;
}

/** One reason to stop before signing; `id` is stable between check and sign. */
export interface PrescriptionAlert {
  id: string;
  kind: AlertKind;
  severity: AlertSeverity;
  drug: { rxnorm: string; name: string };
  against: AlertCounterpart;
  message: string;
  effect?: string;
  management?: string;
  sources?: InteractionSource[];
}

export interface CheckResult {
  alerts: PrescriptionAlert[];
  /** Active medications or allergies the checks could not read (no listed RxNorm code). */
  unchecked: { reference: string; text: string }[];
}

const MAX_LISTED = '1000';
const IGNORED_VERIFICATION = new Set(['refuted', 'entered-in-error']);
const IGNORED_CLINICAL = new Set(['inactive', 'resolved']);

interface Concept {
  text?: string;
  coding?: { system?: string; code?: string; display?: string }[];
}

const rxnormCodes = (concept: Concept | undefined) =>
  (concept?.coding ?? []).filter((c) => c.system === RXNORM_SYSTEM && c.code).map((c) => c.code);
const conceptText = (concept: Concept | undefined) =>
  concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? '(uncoded)';
const statusCode = (concept: unknown) => (concept as Concept | undefined)?.coding?.[0]?.code;
const drugRef = (d: Drug) => ({ rxnorm: d.rxcui, name: d.name });

/** The patient's active medications as catalog drugs, and those the checks cannot read. */
async function activeMedications(db: Db, patientId: string) {
  const { matches } = await searchStored(db, 'MedicationRequest', [
    ['patient', `Patient/${patientId}`],
    ['status', 'active'],
    ['_count', MAX_LISTED],
    ['_total', 'none'],
  ]);
  const known: { drug: Drug; reference: string }[] = [];
  const unchecked: CheckResult['unchecked'] = [];
  for (const request of matches) {
    const reference = `MedicationRequest/${request.id}`;
    const concept = request.medicationCodeableConcept as Concept | undefined;
    const drug = rxnormCodes(concept)
      .map((code) => drugByRxcui(code as string))
      .find(Boolean);
    if (drug) known.push({ drug, reference });
    else unchecked.push({ reference, text: conceptText(concept) });
  }
  return { known, unchecked };
}

/** What an allergy is to, in the catalog's terms: drugs by RxNorm code or name, and groups. */
function allergensOf(allergy: FhirResource) {
  const concepts = [
    allergy.code as Concept | undefined,
    ...((allergy.reaction as { substance?: Concept }[] | undefined) ?? []).map((r) => r.substance),
  ].filter((c): c is Concept => Boolean(c));
  const drugs: Drug[] = [];
  const groups: DrugClass[] = [];
  for (const concept of concepts) {
    const coded = rxnormCodes(concept)
      .map((code) => drugByRxcui(code as string))
      .filter((d): d is Drug => Boolean(d));
    if (coded.length > 0) {
      drugs.push(...coded);
      continue;
    }
    const named = allergenByName(concept.text ?? concept.coding?.[0]?.display ?? '');
    if (named.drug) drugs.push(named.drug);
    if (named.group) groups.push(named.group);
  }
  return { drugs, groups };
}

async function activeAllergies(db: Db, patientId: string) {
  const { matches } = await searchStored(db, 'AllergyIntolerance', [
    ['patient', `Patient/${patientId}`],
    ['_count', MAX_LISTED],
    ['_total', 'none'],
  ]);
  return matches.filter(
    (a) =>
      !IGNORED_VERIFICATION.has(statusCode(a.verificationStatus) ?? '') &&
      !IGNORED_CLINICAL.has(statusCode(a.clinicalStatus) ?? ''),
  );
}

function interactionAlerts(drug: Drug, other: Drug, against: AlertCounterpart, key: string) {
  return interactionsBetween(drug, other).map(
    (i): PrescriptionAlert => ({
      id: `interaction:${i.id}:${drug.rxcui}:${key}`,
      kind: 'interaction',
      severity: i.severity,
      drug: drugRef(drug),
      against,
      message: `${drug.name} with ${other.name}: ${i.effect}`,
      effect: i.effect,
      management: i.management,
      sources: i.sources,
    }),
  );
}

function duplicateAlert(
  drug: Drug,
  other: Drug,
  against: AlertCounterpart,
  key: string,
): PrescriptionAlert | undefined {
  const classes = sharedTherapeuticClasses(drug, other);
  const same = drug.rxcui === other.rxcui;
  if (!same && classes.length === 0) return undefined;
  const where = against.source === 'this-order' ? 'also in this order' : 'already active';
  return {
    id: `duplicate-therapy:${drug.rxcui}:${key}`,
    kind: 'duplicate-therapy',
    severity: 'moderate',
    drug: drugRef(drug),
    against,
    message: same
      ? `Duplicate therapy: ${drug.name} is ${where}`
      : `Duplicate therapy: ${other.name} (${classes.map((c) => c.name).join(', ')}) is ${where}`,
  };
}

function allergyAlert(drug: Drug, allergy: FhirResource): PrescriptionAlert | undefined {
  const { drugs, groups } = allergensOf(allergy);
  const sameDrug = drugs.find((d) => d.rxcui === drug.rxcui);
  const drugGroups = allergyGroupsOf(drug);
  const group = drugGroups.find(
    (g) => groups.some((x) => x.id === g.id) || drugs.some((d) => d.classes.includes(g.id)),
  );
  if (!sameDrug && !group) return undefined;
  const reference = `AllergyIntolerance/${allergy.id}`;
  const allergen = conceptText(allergy.code as Concept | undefined);
  const verification = statusCode(allergy.verificationStatus);
  const reactions = ((allergy.reaction as { manifestation?: Concept[] }[] | undefined) ?? [])
    .flatMap((r) => r.manifestation ?? [])
    .map(conceptText);
  const why = sameDrug
    ? `${drug.name} is the recorded allergen`
    : `${drug.name} is one of the ${group?.name}`;
  return {
    id: `allergy:${drug.rxcui}:${reference}`,
    kind: 'allergy',
    severity: allergy.criticality === 'low' ? 'moderate' : 'high',
    drug: drugRef(drug),
    against: {
      name: allergen,
      source: 'allergy',
      reference,
      ...(sameDrug && { rxnorm: drug.rxcui }),
    },
    message:
      `Allergy to ${allergen}` +
      (verification && verification !== 'confirmed' ? ` (${verification})` : '') +
      `: ${why}` +
      (reactions.length > 0 ? `; reactions: ${reactions.join(', ')}` : ''),
  };
}

/**
 * The checks before signing: high-severity interactions with the patient's active medications
 * and within the order, allergies (refuted, entered-in-error, inactive and resolved ones do not
 * count) by ingredient and allergy group, and duplicate therapy by ingredient or class.
 */
export async function checkOrder(
  db: Db,
  patientId: string,
  order: OrderedMedication[],
): Promise<CheckResult> {
  const [active, allergies] = await Promise.all([
    activeMedications(db, patientId),
    activeAllergies(db, patientId),
  ]);
  const alerts: PrescriptionAlert[] = [];
  const unchecked = [...active.unchecked];
  for (const allergy of allergies) {
    const { drugs, groups } = allergensOf(allergy);
    if (drugs.length === 0 && groups.length === 0)
      unchecked.push({
        reference: `AllergyIntolerance/${allergy.id}`,
        text: conceptText(allergy.code as Concept | undefined),
      });
  }
  order.forEach(({ drug }, i) => {
    for (const current of active.known) {
      const against: AlertCounterpart = {
        name: current.drug.name,
        rxnorm: current.drug.rxcui,
        source: 'active-medication',
        reference: current.reference,
      };
      alerts.push(...interactionAlerts(drug, current.drug, against, current.reference));
      const duplicate = duplicateAlert(drug, current.drug, against, current.reference);
      if (duplicate) alerts.push(duplicate);
    }
    for (const other of order.slice(i + 1)) {
      const against: AlertCounterpart = {
        name: other.drug.name,
        rxnorm: other.drug.rxcui,
        source: 'this-order',
      };
      const key = `order:${other.drug.rxcui}`;
      alerts.push(...interactionAlerts(drug, other.drug, against, key));
      const duplicate = duplicateAlert(drug, other.drug, against, key);
      if (duplicate) alerts.push(duplicate);
    }
    for (const allergy of allergies) {
      const alert = allergyAlert(drug, allergy);
      if (alert) alerts.push(alert);
    }
  });
  const unique = new Map(alerts.map((a) => [a.id, a]));
  return { alerts: [...unique.values()], unchecked };
}
