import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/** FHIR issue-type codes (http://hl7.org/fhir/issue-type) this API uses. */
export type IssueCode =
  | 'invalid'
  | 'code-invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'not-found'
  | 'deleted'
  | 'not-supported'
  | 'conflict'
  | 'duplicate'
  | 'too-costly'
  | 'forbidden'
  | 'login'
  | 'throttled'
  | 'exception';

export interface Issue {
  severity: 'error' | 'fatal';
  code: IssueCode;
  diagnostics: string;
  /** FHIRPath of the element the issue is about. */
  expression?: string[];
}

export interface OperationOutcome {
  resourceType: 'OperationOutcome';
  issue: Issue[];
}

export function operationOutcome(code: IssueCode, diagnostics: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] };
}

/** A request the API refuses; the app turns it into an OperationOutcome with `status`. */
export class FhirError extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: IssueCode;
  /** Several issues (validation); else one made of code and message. */
  readonly issues: Issue[] | undefined;
  constructor(status: ContentfulStatusCode, code: IssueCode, message: string, issues?: Issue[]) {
    super(message);
    this.name = 'FhirError';
    this.status = status;
    this.code = code;
    this.issues = issues;
  }

  outcome(): OperationOutcome {
    return this.issues
      ? { resourceType: 'OperationOutcome', issue: this.issues }
      : operationOutcome(this.code, this.message);
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
  const pretty = c.req.query('_pretty') === 'true';
  return c.body(JSON.stringify(body, null, pretty ? 2 : undefined), status, {
    'Content-Type': FHIR_JSON,
    ...headers,
  });
}
