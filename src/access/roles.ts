/**
 * What each role is, in one place: who signs in, who needs a site, who reads masked waybills,
 * how far a phone search reaches, who is privileged (may reveal without an assignment, ticket or
 * search, so creating one takes two people), who reveals on its own standing (site, counter,
 * search: creating or moving one by an account takes two people), and who works the security side.
 *
 * Invariant: no other module lists roles to decide something about them; they ask here. What a
 * role may *reveal* is the access policy (policy.ts, data a company may override); what a role
 * *is* lives here and is not configurable.
 */
import { ROLES, type Role } from '../contracts/events.js';

export type SearchReach = 'all' | 'assigned' | 'site' | 'city';

export interface RoleProfile {
  /** A person who logs in (not an upstream system). */
  readonly staff: boolean;
  /** Must belong to a site (its scope is that site or its city). */
  readonly needsSite: boolean;
  /** May read masked waybills. */
  readonly views: boolean;
  /** How far a phone search reaches; null: may not search customers. */
  readonly search: SearchReach | null;
  /** Reveals without an assignment, ticket or search behind it (city scope, cases): dual control. */
  readonly privileged: boolean;
  /**
   * Reveals on its own standing — its site's parcels, a customer at the counter, its own phone
   * searches — with no upstream work (assignment, ticket) that a second system or person grants:
   * an account that creates, promotes or moves such an account grants reveal rights, so that
   * takes a second person (review 3: an it_admin created a clerk, set its password, revealed).
   */
  readonly standing: boolean;
  /** Works alerts, responses, exceptions, cases and the audit trail. */
  readonly analyst: boolean;
  /** Opens, approves (another's) and closes investigation cases, the basis of case-backed reveals. */
  readonly cases: boolean;
}

export const ROLE_PROFILES: Readonly<Record<Role, RoleProfile>> = {
  courier: { staff: true, needsSite: true, views: true, search: 'assigned', privileged: false, standing: false, analyst: false, cases: false },
  outlet_staff: { staff: true, needsSite: true, views: true, search: 'site', privileged: false, standing: true, analyst: false, cases: false },
  sorting: { staff: true, needsSite: true, views: true, search: null, privileged: false, standing: false, analyst: false, cases: false },
  customer_service: { staff: true, needsSite: true, views: true, search: 'all', privileged: false, standing: true, analyst: false, cases: false },
  manager: { staff: true, needsSite: true, views: true, search: 'city', privileged: true, standing: false, analyst: false, cases: false },
  it_admin: { staff: true, needsSite: false, views: true, search: null, privileged: false, standing: false, analyst: false, cases: false },
  security_analyst: { staff: true, needsSite: false, views: true, search: 'all', privileged: true, standing: false, analyst: true, cases: true },
  service: { staff: false, needsSite: false, views: false, search: null, privileged: false, standing: false, analyst: false, cases: false },
};

export const profileOf = (role: Role): RoleProfile => ROLE_PROFILES[role];

const rolesWhere = (test: (p: RoleProfile) => boolean): readonly Role[] => ROLES.filter((r) => test(ROLE_PROFILES[r]));

/** Everyone who logs in. */
export const STAFF_ROLES = rolesWhere((p) => p.staff);
/** Roles that read masked waybills. */
export const VIEW_ROLES = rolesWhere((p) => p.views);
/** Roles that work the security side. */
export const ANALYST_ROLES = rolesWhere((p) => p.analyst);
/** Roles that open and approve investigation cases. */
export const CASE_ROLES = rolesWhere((p) => p.cases);
/** Roles whose creation or promotion needs a second analyst's approval. */
export const PRIVILEGED_ROLES = rolesWhere((p) => p.privileged);

/**
 * Besides service tokens registered for it, who may import history through the audited backfill
 * mode of POST /api/v1/events (and the bootstrap admin token): those who run the systems.
 */
export const BACKFILL_ROLES: readonly Role[] = ['it_admin'];
/**
 * Run the systems without seeing customer data (separation of duties): may create sites,
 * non-privileged accounts, MFA enrolments and service tokens, and ask for a privileged
 * account (which a security analyst then approves). Never reveals.
 */
export const ADMINISTRATOR_ROLES: readonly Role[] = ['it_admin'];
/**
 * PIPL duties (src/pipl/): data-subject requests (access, correction, deletion — a deletion
 * approved by a second of them), retention runs, breach and compliance reports. The security
 * side, which already works cases and the audit trail; never the systems' administrators (who
 * run the systems without seeing customer data) nor front-line staff.
 */
export const PRIVACY_ROLES: readonly Role[] = rolesWhere((p) => p.analyst);

/**
 * May take a bulk export of masked records of their scope (src/trace/exports.ts): every export is
 * marked for its recipient (canary rows, a recorded row order).
 */
export const EXPORT_ROLES: readonly Role[] = ['manager'];
