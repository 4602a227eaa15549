import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** FHIR issue-type codes (http://hl7.org/fhir/issue-type) this API uses. */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'not-found'
  | 'deleted'
  | 'not-supported'
  | 'conflict'
  | 'duplicate'
  | 'too-costly'
  | 'exception';

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: { severity: 'error' | 'fatal'; code: IssueCode; diagnostics: string }[];
}

export function operationOutcome(code: IssueCode, diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

/** A request the API refuses; the app turns it into an OperationOutcome with `status`. */
export class FhirError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: IssueCode;
  constructor(status: ContentfulStatusCode, code: IssueCode, message: string) {
    super(message);
    this.name = 'FhirError';
    this.status = status;
    this.code = code;
  }
}

/** A search parameter whose name or value the server refuses (400, naming the parameter). */
export class SearchParamError extends FhirError {
  readonly param: string;
  constructor(param: string, problem: string, code: IssueCode = 'invalid') {
    super(400, code, `Search parameter "${param}": ${problem}`);
    this.name = 'SearchParamError';
    this.param = param;
  }
}

export function fhirJson(
  c: Context,
  body: unknown,
  status: ContentfulStatusCode = 200,
  headers: Record<string, string> = {},
): Response {
  return c.body(JSON.stringify(body), status, { 'Content-Type': FHIR_JSON, ...headers });
}
