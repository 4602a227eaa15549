import { type SQL, sql } from 'drizzle-orm';
import type { AuditAction } from '../audit/audit-entry.ts';
import type { Principal, Role } from '../auth/principal.ts';
import type { StoredVersion } from '../fhir/store/resource-store.ts';
import type { FhirResource } from '../fhir/store/validate.ts';
import { AccessDenied } from './access-denied.ts';
import { classificationOf } from './classification.ts';
import { forbiddenSearchParam, subset } from './minimum-necessary.ts';
import { compartmentParamsByType, isPatientLinked, patientsOf } from './patient-links.ts';
import { type PatientScope, scopeIncludes } from './patient-scope.ts';
import { type Action, ROLE_POLICIES, roleAllows } from './roles.ts';
import { scopesAllow } from './scopes.ts';

/** One thing a request did, for its audit record. */
export interface AccessOperation {
  action: AuditAction;
  entity: string;
  patients: Set<string>;
  /** A search's query, PHI values redacted. */
  query?: string;
  /** PHI-free words for the record (which emergency access, for a break-the-glass). */
  detail?: string;
}

/**
 * The authorization of one request: role or scope permissions, minimum necessary, data
 * classification and the care relationship, decided for every resource the request reads or
 * writes. It also remembers which patients were touched, for the audit trail. Every route must
 * ask it something (`decided`); the access middleware refuses a response nobody authorized.
 */
export class RequestAccess {
  readonly principal: Principal;
  readonly scope: PatientScope;
  decided = false;
  readonly operations: AccessOperation[] = [];
  /** Why the request was refused, when it was (for the audit record). */
  denial: string | undefined;

  constructor(principal: Principal, scope: PatientScope) {
    this.principal = principal;
    this.scope = scope;
  }

  /** Records the refusal and returns the error to throw. */
  deny(message: string): AccessDenied {
    this.decided = true;
    this.denial = message;
    return new AccessDenied(message);
  }

  /** Only these roles (users), else AccessDenied. */
  requireRole(...roles: Role[]): void {
    this.decided = true;
    const p = this.principal;
    if (p.kind !== 'user' || !roles.includes(p.role))
      throw this.deny(`only ${roles.join(' or ')} may do this`);
  }

  /** Does the role or token grant `action` on `type` at all? */
  can(type: string, action: Action): boolean {
    const p = this.principal;
    if (p.kind === 'client') return scopesAllow(p.scopes, type, action);
    if (!roleAllows(p.role, type, action)) return false;
    return !(action !== 'read' && action !== 'search' && this.fieldRules(type));
  }

  /** `can`, or AccessDenied naming what is missing. */
  require(type: string, action: Action): void {
    this.decided = true;
    if (!this.can(type, action)) throw this.deny(`${this.who()} may not ${action} ${type}`);
  }

  /** Records an operation for the audit record of this request. */
  record(
    action: AuditAction,
    entity: string,
    patients: Iterable<string> = [],
    query?: string,
  ): AccessOperation {
    const op = { action, entity, patients: new Set(patients), query };
    this.operations.push(op);
    return op;
  }

  /** Patients the request touched, over all its operations. */
  touchedPatients(): string[] {
    return [...new Set(this.operations.flatMap((op) => [...op.patients]))];
  }

  /** Was any touched patient reached only through a break-the-glass access? */
  isEmergency(): boolean {
    if (this.scope.all) return false;
    const { emergency } = this.scope;
    return this.touchedPatients().some((id) => emergency.has(id));
  }

  /** May the principal reach this patient's record (relationship or emergency access)? */
  reachesPatient(patientId: string): boolean {
    return scopeIncludes(this.scope, patientId);
  }

  /**
   * `action` on `type` for one patient (the non-FHIR APIs), else AccessDenied. The patient is
   * recorded either way: a refused attempt names whom it was after.
   */
  requirePatient(patientId: string, type: string, action: Action, op?: AccessOperation): void {
    this.require(type, action);
    op?.patients.add(patientId);
    if (!this.reachesPatient(patientId))
      throw this.deny(`${this.who()} has no care relationship with this patient`);
  }

  /**
   * The resource as this principal may see it (fields subsetted by minimum necessary), or
   * undefined when it may not see it at all. Touched patients are added to `op`.
   */
  visible(resource: FhirResource, op?: AccessOperation): FhirResource | undefined {
    const type = resource.resourceType;
    if (!this.can(type, 'read')) return undefined;
    const patients = this.relationshipPatients(resource);
    if (patients === undefined) return undefined;
    for (const id of patients) op?.patients.add(id);
    const rules = this.fieldRules(type);
    return rules ? subset(resource, rules.elements) : resource;
  }

  /** `visible`, or AccessDenied. */
  readable(resource: FhirResource, op?: AccessOperation): FhirResource {
    this.require(resource.resourceType, 'read');
    const seen = this.visible(resource, op);
    if (!seen) {
      for (const id of patientsOf(resource)) op?.patients.add(id);
      throw this.deny(
        `${this.who()} has no care relationship with the patient of ${resource.resourceType}/${resource.id}`,
      );
    }
    return seen;
  }

  /** A stored version as it may be seen, or AccessDenied (deletions carry no data). */
  readableVersion(version: StoredVersion, op?: AccessOperation): StoredVersion {
    if (!version.resource) {
      this.require(version.resourceType, 'read');
      return version;
    }
    return { ...version, resource: this.readable(version.resource, op) };
  }

  /**
   * A write (before: the current version or null; after: the new content or null for a delete):
   * permission for the action, and every patient of both versions within the relationship — a
   * write cannot move a record out of, or into, a record the writer does not care for.
   */
  writable(
    type: string,
    before: FhirResource | null,
    after: FhirResource | null,
    op?: AccessOperation,
  ): void {
    const action: Action = after === null ? 'delete' : before === null ? 'create' : 'update';
    this.require(type, action);
    if (this.scope.all || classificationOf(type) !== 'phi') {
      for (const r of [before, after]) if (r) for (const id of patientsOf(r)) op?.patients.add(id);
      return;
    }
    for (const resource of [before, after]) {
      if (!resource) continue;
      const patients = patientsOf(resource);
      for (const id of patients) op?.patients.add(id);
      if (patients.length === 0 || !patients.every((id) => this.reachesPatient(id)))
        throw this.deny(
          `${this.who()} may only write records of patients in their care relationship`,
        );
    }
  }

  /**
   * The condition a search of `type` adds so that only what the principal may see is matched
   * (counts and paging included); undefined when nothing needs adding. AccessDenied when the
   * type may not be searched or a parameter touches a field minimum necessary withholds.
   */
  searchRestriction(type: string, pairs: readonly [string, string][]): SQL | undefined {
    this.require(type, 'search');
    const rules = this.fieldRules(type);
    const forbidden = rules && forbiddenSearchParam(pairs, rules.searchParams);
    if (forbidden) throw this.deny(`${this.who()} may not search ${type} by ${forbidden}`);
    if (this.scope.all || classificationOf(type) !== 'phi') return undefined;
    const ids = [...this.scope.patients];
    if (ids.length === 0 || !isPatientLinked(type)) return sql`false`;
    const list = sql.join(
      ids.map((id) => sql`${id}`),
      sql`, `,
    );
    if (type === 'Patient') return sql`fhir_resources.id in (${list})`;
    const params = [...(compartmentParamsByType().get(type) ?? [])];
    return sql`exists (select 1 from fhir_idx_reference x
      where x.resource_type = ${type} and x.id = fhir_resources.id
        and x.param in (${sql.join(
          params.map((p) => sql`${p}`),
          sql`, `,
        )})
        and x.target_type = 'Patient' and x.target_id in (${list}))`;
  }

  /**
   * For the lists outside FHIR (alarms, alerts): undefined when every patient is reachable,
   * else the reachable patients and, for a nurse, the wards whose patient-less records (a
   * device's technical alarm) they may see.
   */
  visibleTo(): { patientIds: string[]; wards: string[] } | undefined {
    if (this.scope.all) return undefined;
    const p = this.principal;
    return {
      patientIds: [...this.scope.patients],
      wards: p.kind === 'user' && ROLE_POLICIES[p.role].relationship === 'ward' ? p.wards : [],
    };
  }

  /**
   * A movement onto a ward (ADT): a nurse of that ward, or whoever reaches the patient (their
   * doctor, an organisation-wide principal), else AccessDenied.
   */
  requireWardOrPatient(
    gatewayId: string,
    patientId: string,
    type: string,
    action: Action,
    op?: AccessOperation,
  ): void {
    this.require(type, action);
    const p = this.principal;
    const onWard =
      p.kind === 'user' &&
      ROLE_POLICIES[p.role].relationship === 'ward' &&
      p.wards.includes(gatewayId);
    if (!onWard && !this.reachesPatient(patientId))
      throw this.deny(`${this.who()} has no care relationship with this patient or ward`);
    op?.patients.add(patientId);
  }

  /** The name recorded as who acted (a user's username, a client's name). */
  actorName(): string {
    const p = this.principal;
    return p.kind === 'user' ? p.username : `client:${p.name}`;
  }

  /** Is every patient reachable (org-wide roles, API clients)? */
  get everyPatient(): boolean {
    return this.scope.all;
  }

  /**
   * For a PHI resource: its patients when the relationship allows it (any of them), else
   * undefined; for other classifications: [] (no relationship applies).
   */
  private relationshipPatients(resource: FhirResource): string[] | undefined {
    if (classificationOf(resource.resourceType) !== 'phi') return [];
    const patients = patientsOf(resource);
    if (this.scope.all) return patients;
    return patients.some((id) => this.reachesPatient(id)) ? patients : undefined;
  }

  private fieldRules(type: string) {
    const p = this.principal;
    return p.kind === 'user' ? ROLE_POLICIES[p.role].fields?.[type] : undefined;
  }

  private who(): string {
    const p = this.principal;
    return p.kind === 'user' ? `role ${p.role}` : `client ${p.id}`;
  }
}
