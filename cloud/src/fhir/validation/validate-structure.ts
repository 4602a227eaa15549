import { type ElementDef, type StructureDefinitions, structureDefinitions } from './definitions.ts';

/** One problem, with the FHIRPath-style location of the offending element. */
export interface StructureProblem {
  code: 'structure' | 'required' | 'value' | 'code-invalid';
  path: string;
  message: string;
}

const MAX_PROBLEMS = 50;

/**
 * Checks a resource against its R4 StructureDefinition: unknown elements, required elements,
 * cardinality (single value vs array), data types (JSON type and the primitive's regex),
 * choice types, contained resources, and codes of required bindings where the value set can be
 * enumerated. Returns every problem found (at most 50), each with its path.
 */
export function validateStructure(resource: { resourceType: string }): StructureProblem[] {
  const defs = structureDefinitions();
  const problems: StructureProblem[] = [];
  if (!defs.resourceTypes.has(resource.resourceType)) {
    problems.push({
      code: 'structure',
      path: 'resourceType',
      message: `unknown resource type ${JSON.stringify(resource.resourceType)}`,
    });
    return problems;
  }
  validateObject(
    defs,
    resource.resourceType,
    resource.resourceType,
    resource,
    resource.resourceType,
    problems,
    true,
  );
  return problems;
}

function validateObject(
  defs: StructureDefinitions,
  type: string,
  path: string,
  value: Record<string, unknown>,
  location: string,
  problems: StructureProblem[],
  isResource = false,
): void {
  const children = defs.childrenOf(type, path);
  if (!children) return; // a type without a definition here (should not happen for R4 types)
  const claimed = new Set<string>(isResource ? ['resourceType'] : []);
  for (const element of children) {
    if (problems.length >= MAX_PROBLEMS) return;
    const present = presentKeys(element, value);
    for (const key of present.keys) claimed.add(key);
    for (const key of present.extensionKeys) claimed.add(key);
    if (present.keys.length > 1) {
      problems.push({
        code: 'structure',
        path: elementPath(location, element),
        message: `only one of ${present.keys.join(', ')} may be given`,
      });
      continue;
    }
    const key = present.keys[0];
    if (key === undefined) {
      if (element.min > 0 && present.extensionKeys.length === 0)
        problems.push({
          code: 'required',
          path: elementPath(location, element),
          message: 'required element missing',
        });
      continue;
    }
    const item = value[key];
    const elementType = typeOfKey(element, key);
    const many = element.max !== '1' && element.max !== '0';
    if (element.max === '0') {
      problems.push({
        code: 'structure',
        path: `${location}.${key}`,
        message: 'not allowed here (max 0)',
      });
      continue;
    }
    if (many && !Array.isArray(item)) {
      problems.push({ code: 'structure', path: `${location}.${key}`, message: 'must be an array' });
      continue;
    }
    if (!many && Array.isArray(item)) {
      problems.push({
        code: 'structure',
        path: `${location}.${key}`,
        message: 'must be a single value, not an array',
      });
      continue;
    }
    const items = many ? (item as unknown[]) : [item];
    if (element.min > items.length)
      problems.push({
        code: 'required',
        path: `${location}.${key}`,
        message: `needs at least ${element.min} values`,
      });
    for (let i = 0; i < items.length; i++) {
      const at = many ? `${location}.${key}[${i}]` : `${location}.${key}`;
      validateValue(defs, type, element, elementType, items[i], at, problems);
    }
  }
  for (const key of Object.keys(value)) {
    if (claimed.has(key) || key === 'fhir_comments') continue;
    if (problems.length >= MAX_PROBLEMS) return;
    problems.push({ code: 'structure', path: `${location}.${key}`, message: 'unknown element' });
  }
}

/** Where an element is (`Observation.value` for value[x]); built only for a problem. */
function elementPath(location: string, element: ElementDef): string {
  return `${location}.${element.name.replace('[x]', '')}`;
}

interface ElementKeys {
  /** [JSON key, type, extension key]: one for a plain element, one per type for `value[x]`. */
  keys: [string, string, string][];
}

const keysOfElement = new WeakMap<ElementDef, ElementKeys>();

/** The JSON keys an element can take, computed once per definition. */
function elementKeys(element: ElementDef): ElementKeys {
  let cached = keysOfElement.get(element);
  if (!cached) {
    const prefix = element.name.slice(0, -3);
    cached = {
      keys: element.name.endsWith('[x]')
        ? element.types.map((t) => {
            const key = prefix + t[0].toUpperCase() + t.slice(1);
            return [key, t, `_${key}`];
          })
        : [[element.name, element.types[0], `_${element.name}`]],
    };
    keysOfElement.set(element, cached);
  }
  return cached;
}

const ABSENT = { keys: [] as string[], extensionKeys: [] as string[] };

/** The JSON keys an element occupies: `status`, `valueQuantity` for `value[x]`, `_status` for extensions. */
function presentKeys(element: ElementDef, value: Record<string, unknown>) {
  let present: typeof ABSENT | undefined;
  for (const [key, , extensionKey] of elementKeys(element).keys) {
    const has = key in value;
    const hasExtension = extensionKey in value;
    if (!has && !hasExtension) continue;
    present ??= { keys: [], extensionKeys: [] };
    if (has) present.keys.push(key);
    if (hasExtension) present.extensionKeys.push(extensionKey);
  }
  return present ?? ABSENT;
}

/** The type a present key stands for (`valueQuantity` → Quantity). */
function typeOfKey(element: ElementDef, key: string): string {
  for (const [k, type] of elementKeys(element).keys) if (k === key) return type;
  return element.types[0];
}

function validateValue(
  defs: StructureDefinitions,
  ownerType: string,
  element: ElementDef,
  type: string | undefined,
  value: unknown,
  location: string,
  problems: StructureProblem[],
): void {
  if (element.contentReference) {
    // The element repeats the definition at that path (e.g. Questionnaire.item.item).
    const path = element.contentReference.replace(/^#/, '');
    if (isObject(value)) validateObject(defs, ownerType, path, value, location, problems);
    else structureProblem(problems, location, 'must be an object');
  } else if (!type) {
    // an element without a type has nothing more to check
  } else if (type === 'Resource' || defs.resourceTypes.has(type)) {
    if (
      !isObject(value) ||
      typeof value.resourceType !== 'string' ||
      !defs.resourceTypes.has(value.resourceType)
    )
      structureProblem(problems, location, 'must be a resource with a known resourceType');
    else if (type !== 'Resource' && value.resourceType !== type)
      structureProblem(problems, location, `must be a ${type}`);
    else
      validateObject(defs, value.resourceType, value.resourceType, value, location, problems, true);
  } else if (type === 'BackboneElement' || type === 'Element') {
    if (isObject(value)) validateObject(defs, ownerType, element.path, value, location, problems);
    else structureProblem(problems, location, 'must be an object');
  } else if (defs.isPrimitive(type)) {
    validatePrimitive(defs, element, type, value, location, problems);
  } else if (!isObject(value)) {
    structureProblem(problems, location, `must be a ${type} (an object)`);
  } else if (defs.isKnownType(type)) {
    validateObject(defs, type, type, value, location, problems);
  }
}

function structureProblem(problems: StructureProblem[], path: string, message: string): void {
  problems.push({ code: 'structure', path, message });
}

const INTEGER_TYPES: Record<string, number> = {
  integer: -2147483648,
  unsignedInt: 0,
  positiveInt: 1,
};

function validatePrimitive(
  defs: StructureDefinitions,
  element: ElementDef,
  type: string,
  value: unknown,
  location: string,
  problems: StructureProblem[],
): void {
  if (type === 'boolean') {
    if (typeof value !== 'boolean')
      problems.push({ code: 'value', path: location, message: 'must be true or false' });
    return;
  }
  if (type in INTEGER_TYPES) {
    if (
      !Number.isInteger(value) ||
      (value as number) < INTEGER_TYPES[type] ||
      (value as number) > 2147483647
    )
      problems.push({ code: 'value', path: location, message: `must be a ${type}` });
    return;
  }
  if (type === 'decimal') {
    if (typeof value !== 'number' || !Number.isFinite(value))
      problems.push({ code: 'value', path: location, message: 'must be a number' });
    return;
  }
  if (typeof value !== 'string') {
    problems.push({ code: 'value', path: location, message: `must be a ${type} (a string)` });
    return;
  }
  const regex = defs.primitiveRegex.get(type);
  if (regex && !regex.test(value)) {
    problems.push({
      code: 'value',
      path: location,
      message: `${JSON.stringify(value.slice(0, 60))} is not a valid ${type}`,
    });
    return;
  }
  if (type === 'code' && element.requiredValueSet) {
    const codes = defs.codesOf(element.requiredValueSet);
    if (codes && !codes.has(value))
      problems.push({
        code: 'code-invalid',
        path: location,
        message: `"${value}" is not in the required value set ${element.requiredValueSet}`,
      });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
