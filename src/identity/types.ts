/**
 * Who is calling and who acts: the types every identity module (and the rest of Warden) shares.
 */
import type { Role } from '../contracts/events.js';

export interface AccountInfo {
  id: string;
  role: Role;
  site: string | null;
  siteCity: string | null;
  status: 'active' | 'suspended';
  statusReason: string | null;
  mfaEnrolled: boolean;
  /** 'pending': a privileged account a second analyst has not approved yet; it may not act. */
  approval: 'approved' | 'pending';
}

export type Principal =
  | { kind: 'admin' }
  | {
      kind: 'account';
      account: AccountInfo;
      sessionId: string | null;
      sessionCreatedAt: number | null;
      mfa: boolean;
      /** The enrolled device id the session is bound to (server-issued, never a client-chosen name). */
      device: string | null;
      via: 'session' | 'service_token';
      /** The service token's id (its registration says what it may send). */
      tokenId?: string;
    };

export type AccountPrincipal = Extract<Principal, { kind: 'account' }>;

export interface RequestContext {
  ip: string | null;
  requestId: string;
}

/** Who acts (an identity change, a triage, a response, a case): the bootstrap admin token, a logged-in account, or Warden itself. */
export type Actor = { kind: 'admin' } | { kind: 'account'; id: string; role: Role } | { kind: 'system'; name: string };

export const actorOf = (p: Principal): Actor => (p.kind === 'admin' ? { kind: 'admin' } : { kind: 'account', id: p.account.id, role: p.account.role });

/** The name an audit entry records for the actor. */
export const actorName = (a: Actor): string => (a.kind === 'admin' ? 'admin' : a.kind === 'account' ? a.id : a.name);

/** The acting account, or null for the admin token and Warden itself (which have none of their own). */
export const actorAccount = (a: Actor): string | null => (a.kind === 'account' ? a.id : null);

/** A change of who holds a privileged role, reported to the alert sink (watch) without identity importing it. */
export interface PrivilegedChange {
  change: 'created' | 'created_pending' | 'promotion_requested' | 'approved';
  account: string;
  role: Role;
  site: string | null;
  actor: string;
  /** Who asked for what `approved` approves (the alert names them too: attack review 9). */
  requestedBy?: string | null | undefined;
  at: Date;
}
