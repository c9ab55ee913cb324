/**
 * SimAction -> contract event (object or NDJSON line). The line builder is hand-written for
 * speed; every string it embeds comes from the simulator's own ASCII alphabets (codes, ids, IPs,
 * English city names), never from outside, so no JSON escaping is needed. A test parses and
 * validates every line of a run to keep that true.
 */
import type { ActivityEvent } from '../contracts/events.js';
import type { SimAction } from './action.js';
import { IsoFormatter } from './time.js';

const fieldsJson = new Map<readonly string[], string>();
function jsonArray(a: readonly string[]): string {
  return a.length === 0 ? '[]' : `["${a.join('","')}"]`;
}
function fieldsOf(a: readonly string[]): string {
  let s = fieldsJson.get(a);
  if (s === undefined) {
    s = jsonArray(a);
    if (Object.isFrozen(a)) fieldsJson.set(a, s);
  }
  return s;
}

export class LineSerializer {
  private readonly iso = new IsoFormatter();

  line(a: SimAction, id: string): string {
    return this.prefix(id, a.t) + body(a);
  }

  /** `{"id":"…","ts":"…"` — the part of a line that is known only when it is written. */
  prefix(id: string, t: number): string {
    return `{"id":"${id}","ts":"${this.iso.format(t)}"`;
  }
}

/**
 * Fragments that repeat across lines: who acted (type, account, role, site) and in which session
 * (device, ip, city, session id). Cached by their strings; a session id always comes with the same
 * device, address and city. Bounded: `resetFragmentCache` is called once per simulated day.
 */
const whoCache = new Map<string, string>();
const sessionCache = new Map<string, string>();
export function resetFragmentCache(): void {
  whoCache.clear();
  sessionCache.clear();
}

function who(a: SimAction): string {
  if (a.account === undefined) return a.site !== undefined ? `,"type":"${a.type}","site":"${a.site}"` : `,"type":"${a.type}"`;
  const key = a.type + a.account;
  let s = whoCache.get(key);
  if (s === undefined) {
    s = `,"type":"${a.type}","account":"${a.account}","role":"${a.role}"`;
    if (a.site !== undefined) s += `,"site":"${a.site}"`;
    whoCache.set(key, s);
  }
  return s;
}

function where(a: SimAction): string {
  const build = () => {
    let s = '';
    if (a.device !== undefined) s += `,"device":"${a.device}"`;
    if (a.ip !== undefined) s += `,"ip":"${a.ip}"`;
    if (a.city !== undefined) s += `,"city":"${a.city}"`;
    if (a.session !== undefined) s += `,"session":"${a.session}"`;
    return s;
  };
  if (a.session === undefined) return build();
  let s = sessionCache.get(a.session);
  if (s === undefined) {
    s = build();
    sessionCache.set(a.session, s);
  }
  return s;
}

/** Everything of an action's line after its id and ts, newline included. */
export function body(a: SimAction): string {
  let s = who(a) + where(a);
  switch (a.type) {
    case 'login':
      s += `,"result":"${a.result}","mfa":${a.mfa === true}`;
      if (a.appHash !== undefined) s += `,"app_hash":"${a.appHash}"`;
      break;
    case 'waybill':
      s += `,"waybill":"${a.waybill}","origin_site":"${a.originSite}","dest_site":"${a.destSite}","dest_city":"${a.destCity}"`;
      break;
    case 'assign':
      s += `,"waybill":"${a.waybill}","task":"${a.task}"`;
      break;
    case 'ticket':
      s += `,"ticket":"${a.ticket}","waybill":"${a.waybill}","status":"${a.status}"`;
      break;
    case 'scan':
      s += `,"waybill":"${a.waybill}","op":"${a.op}"`;
      break;
    case 'access':
      s += `,"action":"${a.action}"`;
      if (a.waybill !== undefined) s += `,"waybill":"${a.waybill}"`;
      if (a.waybills !== undefined) s += `,"waybills":${jsonArray(a.waybills)}`;
      s += `,"fields":${fieldsOf(a.fields ?? [])}`;
      if (a.purpose !== undefined) s += `,"purpose":"${a.purpose}"`;
      if (a.ticket !== undefined) s += `,"ticket":"${a.ticket}"`;
      s += `,"result":"${a.result ?? 'allowed'}"`;
      break;
    default:
      break;
  }
  return `${s}}\n`;
}

/** The contract event for an action, as a plain object (for live drivers and tests). */
export function toContractEvent(a: SimAction, id: string): ActivityEvent {
  return JSON.parse(new LineSerializer().line(a, id)) as ActivityEvent;
}
