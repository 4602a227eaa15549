import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const RXNORM_SYSTEM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

const classSchema = z.object({
  name: z.string().min(1),
  duplicateTherapy: z.boolean().optional(),
  allergyGroup: z.boolean().optional(),
});
const drugSchema = z.object({
  rxcui: z.string().regex(/^\d+$/),
  name: z.string().min(1),
  classes: z.array(z.string()),
});
const catalogSchema = z.object({
  system: z.literal(RXNORM_SYSTEM),
  classes: z.record(z.string(), classSchema),
  drugs: z.array(drugSchema).min(1),
});
const memberSchema = z.union([
  z.object({ rxcui: z.string() }).strict(),
  z.object({ class: z.string() }).strict(),
]);
const sourceSchema = z.object({
  title: z.string().min(1),
  section: z.string().optional(),
  url: z.url(),
});
const interactionSchema = z.object({
  id: z.string().min(1),
  a: memberSchema,
  b: memberSchema,
  severity: z.enum(['contraindicated', 'high']),
  effect: z.string().min(1),
  management: z.string().min(1),
  sources: z.array(sourceSchema).min(1),
});
const interactionTableSchema = z.object({
  version: z.string(),
  interactions: z.array(interactionSchema).min(1),
});

export type DrugClass = z.infer<typeof classSchema> & { id: string };
export type Drug = z.infer<typeof drugSchema>;
export type Interaction = z.infer<typeof interactionSchema>;
export type InteractionSource = z.infer<typeof sourceSchema>;
type Member = z.infer<typeof memberSchema>;

function load<T extends z.ZodType>(file: string, schema: T): z.infer<T> {
  const text = readFileSync(new URL(`./data/${file}`, import.meta.url), 'utf8');
  const parsed = schema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`prescriptions/data/${file}: ${parsed.error.message}`);
  return parsed.data;
}

/** The curated drug list and interaction table, checked once: a member naming nothing is a bug. */
function loadCatalog() {
  const catalog = load('drugs.json', catalogSchema);
  const table = load('interactions.json', interactionTableSchema);
  const drugs = new Map(catalog.drugs.map((d) => [d.rxcui, d]));
  const classes = new Map(Object.entries(catalog.classes).map(([id, c]) => [id, { ...c, id }]));
  for (const drug of catalog.drugs)
    for (const c of drug.classes)
      if (!classes.has(c)) throw new Error(`drugs.json: ${drug.name} is in unknown class ${c}`);
  for (const i of table.interactions)
    for (const m of [i.a, i.b])
      if ('rxcui' in m ? !drugs.has(m.rxcui) : !classes.has(m.class))
        throw new Error(`interactions.json: ${i.id} names ${JSON.stringify(m)}, not in drugs.json`);
  return { drugs, classes, interactions: table.interactions, version: table.version };
}

const CATALOG = loadCatalog();

export const INTERACTION_TABLE_VERSION = CATALOG.version;

export function drugByRxcui(rxcui: string): Drug | undefined {
  return CATALOG.drugs.get(rxcui);
}

export function drugClass(id: string): DrugClass | undefined {
  return CATALOG.classes.get(id);
}

export function listDrugs(): Drug[] {
  return [...CATALOG.drugs.values()];
}

export function listInteractions(): Interaction[] {
  return CATALOG.interactions;
}

const isMember = (drug: Drug, m: Member) =>
  'rxcui' in m ? drug.rxcui === m.rxcui : drug.classes.includes(m.class);

/** The table's interactions between two drugs, whichever way round the pair is listed. */
export function interactionsBetween(x: Drug, y: Drug): Interaction[] {
  if (x.rxcui === y.rxcui) return [];
  return CATALOG.interactions.filter(
    (i) => (isMember(x, i.a) && isMember(y, i.b)) || (isMember(x, i.b) && isMember(y, i.a)),
  );
}

/** Classes both drugs are in that make them duplicate therapy. */
export function sharedTherapeuticClasses(x: Drug, y: Drug): DrugClass[] {
  return x.classes
    .filter((c) => y.classes.includes(c))
    .map((c) => CATALOG.classes.get(c) as DrugClass)
    .filter((c) => c.duplicateTherapy);
}

/** Allergy groups (penicillins) a drug belongs to. */
export function allergyGroupsOf(drug: Drug): DrugClass[] {
  return drug.classes.map((c) => CATALOG.classes.get(c) as DrugClass).filter((c) => c.allergyGroup);
}

/** The drug or allergy group a free-text allergen names ("Penicillin", "penicillins"). */
export function allergenByName(text: string): { drug?: Drug; group?: DrugClass } {
  const name = text.trim().toLowerCase();
  const drug = [...CATALOG.drugs.values()].find((d) => d.name.toLowerCase() === name);
  if (drug) return { drug };
  const group = [...CATALOG.classes.values()].find(
    (c) =>
      c.allergyGroup && (c.id === name || c.name.toLowerCase() === name || `${c.id}s` === name),
  );
  return group ? { group } : {};
}
