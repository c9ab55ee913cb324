/**
 * One thing that happens in the simulated company: a contract event without its id, plus the
 * instant as a number and the label of the scenario that produced it (0 = ordinary work).
 * A file writer turns it into an NDJSON line; a live driver turns it into an HTTP call.
 */
import type { AccessAction, PiiField, Purpose, Role, ScanOp } from '../contracts/events.js';

export type ActionType = 'login' | 'logout' | 'waybill' | 'assign' | 'ticket' | 'scan' | 'access';

export interface SimAction {
  /** epoch milliseconds (UTC) */
  t: number;
  type: ActionType;
  account: string | undefined;
  role: Role | undefined;
  site: string | undefined;
  device: string | undefined;
  ip: string | undefined;
  city: string | undefined;
  session: string | undefined;
  waybill: string | undefined;
  waybills: string[] | undefined;
  originSite: string | undefined;
  destSite: string | undefined;
  destCity: string | undefined;
  task: 'pickup' | 'delivery' | undefined;
  ticket: string | undefined;
  status: 'open' | 'closed' | undefined;
  op: ScanOp | undefined;
  action: AccessAction | undefined;
  fields: readonly PiiField[] | undefined;
  purpose: Purpose | undefined;
  result: 'allowed' | 'denied' | 'success' | 'failure' | undefined;
  mfa: boolean | undefined;
  appHash: string | undefined;
  /** 1-based index into the run's labels for attack events; 0 for everything else */
  tag: number;
}

/** All properties in one order, so V8 keeps every action on one hidden class. */
export function blankAction(t: number, type: ActionType): SimAction {
  return {
    t,
    type,
    account: undefined,
    role: undefined,
    site: undefined,
    device: undefined,
    ip: undefined,
    city: undefined,
    session: undefined,
    waybill: undefined,
    waybills: undefined,
    originSite: undefined,
    destSite: undefined,
    destCity: undefined,
    task: undefined,
    ticket: undefined,
    status: undefined,
    op: undefined,
    action: undefined,
    fields: undefined,
    purpose: undefined,
    result: undefined,
    mfa: undefined,
    appHash: undefined,
    tag: 0,
  };
}

export const F_NPA: readonly PiiField[] = Object.freeze(['name', 'phone', 'address'] as PiiField[]);
export const F_NP: readonly PiiField[] = Object.freeze(['name', 'phone'] as PiiField[]);
export const F_NA: readonly PiiField[] = Object.freeze(['name', 'address'] as PiiField[]);
export const F_N: readonly PiiField[] = Object.freeze(['name'] as PiiField[]);
export const F_A: readonly PiiField[] = Object.freeze(['address'] as PiiField[]);
export const F_ALL: readonly PiiField[] = Object.freeze(['name', 'phone', 'address', 'id_number'] as PiiField[]);
export const F_NONE: readonly PiiField[] = Object.freeze([] as PiiField[]);
