import { structureDefinitions } from '../validation/definitions.ts';
import type { TypedValue } from './definitions.ts';

/**
 * A fast extractor for a search expression that only walks elements (`Observation.code`,
 * `Patient.name.given`): the values are read off the JSON and typed from the R4 structure
 * definitions, without evaluating FHIRPath. Undefined when the path has anything else (a function,
 * a choice element, a content reference), which then goes to fhirpath.js. Both give the same rows:
 * cloud/test/search-extract.test.ts compares them over every official R4 example.
 */
export function memberPathExtractor(
  path: string,
  base: string,
): ((resource: object) => TypedValue[]) | undefined {
  const match = new RegExp(`^${base}((?:\\.[a-z][A-Za-z0-9]*)+)$`).exec(path);
  if (!match) return undefined;
  const defs = structureDefinitions();
  const segments = match[1].slice(1).split('.');
  let type = base;
  let at = base;
  let leafType = '';
  for (const segment of segments) {
    const element = defs.childrenOf(type, at)?.find((e) => e.name === segment);
    if (!element || element.contentReference || element.types.length !== 1) return undefined;
    leafType = element.types[0];
    if (leafType === 'BackboneElement' || leafType === 'Element') at = element.path;
    else {
      type = leafType;
      at = leafType;
    }
  }
  return (resource) => {
    let nodes: unknown[] = [resource];
    for (const segment of segments) {
      const next: unknown[] = [];
      for (const node of nodes) {
        const value = (node as Record<string, unknown>)[segment];
        if (value === undefined || value === null) continue;
        if (Array.isArray(value)) {
          for (const item of value) if (item !== undefined && item !== null) next.push(item);
        } else next.push(value);
      }
      if (next.length === 0) return [];
      nodes = next;
    }
    return nodes.map((value) => ({ type: leafType, value }));
  };
}
