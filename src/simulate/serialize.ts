/**
 * SimAction -> contract event (object or NDJSON line). The line builder is hand-written for
 * speed; every string it embeds comes from the simulator's own ASCII alphabets (codes, ids, IPs,
 * English city names), never from outside, so no JSON escaping is needed. A test parses and
 * validates every line of a run to keep that true.
 *
 * A line is `prefix` (id and ts, known only at write time) + `body`. The body is emitted as a
 * few flat pieces into a PieceWriter: a string builder for the object API, or straight into a
 * day arena's Buffer for files (no per-line string is ever built there).
 */
import type { ActivityEvent } from '../contracts/events.js';
import type { SimAction } from './action.js';
import { IsoFormatter } from './time.js';

export interface PieceWriter {
  /** a piece computed for this line */
  w(piece: string): void;
  /** a cached piece, with its bytes */
  f(frag: Frag): void;
}

/** A repeated piece of a line, kept both as a string and as ASCII bytes. */
export interface Frag {
  s: string;
  b: Uint8Array;
}
const frag = (s: string): Frag => ({ s, b: new Uint8Array(Buffer.from(s, 'latin1')) });

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

/**
 * Fragments that repeat across lines: who acted (type, account, role, site) and in which session
 * (device, ip, city, session id). A session id always comes with the same device, address and
 * city. Bounded: `resetFragmentCache` is called once per simulated day.
 */
const whoCache = new Map<string, (Frag | undefined)[]>();
const sessionCache = new Map<string, Frag>();
export function resetFragmentCache(): void {
  whoCache.clear();
  sessionCache.clear();
}

const typeFrags = new Map<string, Frag>();
function typeIndex(t: SimAction['type']): number {
  switch (t) {
    case 'access':
      return 0;
    case 'scan':
      return 1;
    case 'assign':
      return 2;
    case 'login':
      return 3;
    case 'logout':
      return 4;
    case 'ticket':
      return 5;
    default:
      return 6;
  }
}
function who(a: SimAction): Frag {
  if (a.account === undefined) {
    if (a.site !== undefined) return frag(`,"type":"${a.type}","site":"${a.site}"`);
    let f = typeFrags.get(a.type);
    if (!f) typeFrags.set(a.type, (f = frag(`,"type":"${a.type}"`)));
    return f;
  }
  let byType = whoCache.get(a.account);
  if (byType === undefined) {
    byType = [undefined, undefined, undefined, undefined, undefined, undefined, undefined];
    whoCache.set(a.account, byType);
  }
  const ti = typeIndex(a.type);
  let f = byType[ti];
  if (f === undefined) {
    let s = `,"type":"${a.type}","account":"${a.account}","role":"${a.role}"`;
    if (a.site !== undefined) s += `,"site":"${a.site}"`;
    byType[ti] = f = frag(s);
  }
  return f;
}

function where(a: SimAction): Frag {
  const build = () => {
    let s = '';
    if (a.device !== undefined) s += `,"device":"${a.device}"`;
    if (a.ip !== undefined) s += `,"ip":"${a.ip}"`;
    if (a.city !== undefined) s += `,"city":"${a.city}"`;
    if (a.session !== undefined) s += `,"session":"${a.session}"`;
    return frag(s);
  };
  if (a.session === undefined) return build();
  let f = sessionCache.get(a.session);
  if (f === undefined) {
    f = build();
    sessionCache.set(a.session, f);
  }
  return f;
}

const OP_TAIL = new Map<string, Frag>();
const TASK_TAIL = new Map<string, Frag>();
const ACTION = new Map<string, Frag>();
const PURPOSE = new Map<string, Frag>();
function cached(m: Map<string, Frag>, key: string, make: () => string): Frag {
  let f = m.get(key);
  if (f === undefined) m.set(key, (f = frag(make())));
  return f;
}
const F = {
  loginOkMfa: frag(',"result":"success","mfa":true'),
  loginOkNoMfa: frag(',"result":"success","mfa":false'),
  appHash: frag(',"app_hash":"'),
  quoteEnd: frag('"}\n'),
  end: frag('}\n'),
  waybill: frag(',"waybill":"'),
  quote: frag('"'),
  fields: frag(',"fields":'),
  allowedEnd: frag(',"result":"allowed"}\n'),
  deniedEnd: frag(',"result":"denied"}\n'),
};
const fieldFrags = new Map<readonly string[], Frag>();

/** Emits everything of an action's line after its id and ts, newline included. */
export function writeBody(a: SimAction, out: PieceWriter): void {
  out.f(who(a));
  if (a.device !== undefined || a.session !== undefined || a.ip !== undefined || a.city !== undefined) out.f(where(a));
  switch (a.type) {
    case 'login':
      if (a.result === 'success') out.f(a.mfa === true ? F.loginOkMfa : F.loginOkNoMfa);
      else out.w(`,"result":"${a.result}","mfa":${a.mfa === true}`);
      if (a.appHash !== undefined) {
        out.f(F.appHash);
        out.w(a.appHash);
        out.f(F.quoteEnd);
      } else out.f(F.end);
      return;
    case 'waybill':
      out.w(`,"waybill":"${a.waybill}","origin_site":"${a.originSite}","dest_site":"${a.destSite}","dest_city":"${a.destCity}"}\n`);
      return;
    case 'assign':
      out.f(F.waybill);
      out.w(a.waybill!);
      out.f(cached(TASK_TAIL, a.task!, () => `","task":"${a.task}"}\n`));
      return;
    case 'ticket':
      out.w(`,"ticket":"${a.ticket}","waybill":"${a.waybill}","status":"${a.status}"}\n`);
      return;
    case 'scan':
      out.f(F.waybill);
      out.w(a.waybill!);
      out.f(cached(OP_TAIL, a.op!, () => `","op":"${a.op}"}\n`));
      return;
    case 'access': {
      out.f(cached(ACTION, a.action!, () => `,"action":"${a.action}"`));
      if (a.waybill !== undefined) {
        out.f(F.waybill);
        out.w(a.waybill);
        out.f(F.quote);
      }
      if (a.waybills !== undefined) {
        out.w(',"waybills":');
        out.w(jsonArray(a.waybills));
      }
      const fields = a.fields ?? [];
      let ff = fieldFrags.get(fields);
      if (ff === undefined) {
        ff = frag(`,"fields":${fieldsOf(fields)}`);
        if (Object.isFrozen(fields)) fieldFrags.set(fields, ff);
      }
      out.f(ff);
      if (a.purpose !== undefined) out.f(cached(PURPOSE, a.purpose, () => `,"purpose":"${a.purpose}"`));
      if (a.ticket !== undefined) out.w(`,"ticket":"${a.ticket}"`);
      out.f(a.result === 'denied' ? F.deniedEnd : F.allowedEnd);
      return;
    }
    default:
      out.f(F.end);
  }
}

class StringPieces implements PieceWriter {
  s = '';
  w(piece: string): void {
    this.s += piece;
  }
  f(frag: Frag): void {
    this.s += frag.s;
  }
}

/** Everything of an action's line after its id and ts, newline included. */
export function body(a: SimAction): string {
  const b = new StringPieces();
  writeBody(a, b);
  return b.s;
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

/** The contract event for an action, as a plain object (for live drivers and tests). */
export function toContractEvent(a: SimAction, id: string): ActivityEvent {
  return JSON.parse(new LineSerializer().line(a, id)) as ActivityEvent;
}
