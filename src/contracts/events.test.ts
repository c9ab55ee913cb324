/**
 * What Warden keeps of an event: the contract's fields and the provenance extension, nothing else
 * (attack review: extra fields carried plaintext PII into activity_events.body), and every string
 * it keeps is bounded.
 */
import { describe, expect, it } from 'vitest';
import { AccessEvent, AssignEvent, contractFieldsOnly, EVENT_TYPES, KNOWN_FIELDS, LoginEvent, LogoutEvent, partiesOf, ScanEvent, TicketEvent, validateEvent, WaybillEvent, type ActivityEvent } from './events.js';

const TS = '2026-11-11T02:00:00.000Z';
const valid = (value: object): ActivityEvent => {
  const r = validateEvent(value);
  if (!r.ok) throw new Error(r.reason);
  return r.event;
};

describe('contractFieldsOnly', () => {
  it('drops every field outside the contract, counts them, and keeps the rest as they were', () => {
    const assign = valid({ id: 'a-1', ts: TS, type: 'assign', account: 'c1', waybill: 'SF1', task: 'delivery', producer: 'x', recipient_phone: '13900000004', addr: '上海市', junk: 'j'.repeat(1000) });
    const { event, dropped } = contractFieldsOnly(assign);
    expect(dropped).toBe(3);
    expect(event).toEqual({ id: 'a-1', ts: TS, type: 'assign', account: 'c1', waybill: 'SF1', task: 'delivery', producer: 'x' });
    expect(validateEvent(event).ok).toBe(true);
  });

  it('returns the event itself when nothing is outside the contract', () => {
    const access = valid({ id: 'x-1', ts: TS, type: 'access', account: 'LEG-1', action: 'search', waybills: ['SF1', 'SF2'], fields: [], purpose: 'audit', result: 'allowed', backfill: true });
    const out = contractFieldsOnly(access);
    expect(out).toEqual({ event: access, dropped: 0 });
    expect(out.event).toBe(access);
  });

  it('fields of another type are outside this one; prototype keys are dropped, never assigned', () => {
    const scan = valid(JSON.parse(`{"id":"s-1","ts":"${TS}","type":"scan","waybill":"SF1","op":"arrive","task":"delivery","__proto__":{"polluted":1}}`));
    const { event, dropped } = contractFieldsOnly(scan);
    expect(dropped).toBe(2);
    expect(Object.keys(event).sort()).toEqual(['id', 'op', 'ts', 'type', 'waybill']);
    expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
    expect((event as unknown as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('knows each type\'s schema fields plus producer and backfill', () => {
    expect([...KNOWN_FIELDS.logout].sort()).toEqual(['account', 'backfill', 'city', 'device', 'id', 'ip', 'producer', 'role', 'session', 'site', 'ts', 'type']);
    for (const t of EVENT_TYPES) expect(KNOWN_FIELDS[t].has('producer') && KNOWN_FIELDS[t].has('backfill')).toBe(true);
  });
});

describe('every string field Warden keeps is bounded', () => {
  type Schema = { type?: string; maxLength?: number; pattern?: string; const?: unknown; items?: Schema; anyOf?: Schema[] };
  const unbounded = (path: string, s: Schema): string[] => {
    if (s.anyOf) return s.anyOf.flatMap((m, i) => unbounded(`${path}|${i}`, m));
    if (s.type === 'array') return unbounded(`${path}[]`, s.items ?? {});
    if (s.type !== 'string' || s.const !== undefined || s.maxLength !== undefined) return [];
    // A pattern bounds the length only when anchored and made of bounded repeats (the timestamp).
    const repeats = s.pattern?.replace(/\\./g, '').replace(/\[[^\]]*\]/g, '');
    return repeats && /^\^.*\$$/.test(repeats) && !/[*+]|\{\d+,\}/.test(repeats) ? [] : [path];
  };
  it.each([LoginEvent, LogoutEvent, WaybillEvent, AssignEvent, TicketEvent, ScanEvent, AccessEvent].map((s) => [s.properties.type.const, s] as const))('%s', (_type, schema) => {
    const found = Object.entries(schema.properties as Record<string, Schema>).flatMap(([k, s]) => unbounded(k, s));
    expect(found).toEqual([]);
  });

  it('a known field over its bound refuses the line', () => {
    expect(validateEvent({ id: 's-1', ts: TS, type: 'scan', waybill: 'SF1', op: 'arrive', city: 'x'.repeat(201) }).ok).toBe(false);
  });
});

describe('extension 1.4: `parties` on an access event (attack review 10)', () => {
  const base = { id: 'p-1', ts: TS, type: 'access', account: 'k1', action: 'reveal', fields: ['name', 'phone'], result: 'allowed' };

  it('is optional: an access event without it stays valid, as version 1 wrote it', () => {
    expect(validateEvent(base)).toEqual({ ok: true, event: base });
  });

  it('takes sender and/or recipient, keeps them (a contract field), and refuses anything else', () => {
    for (const parties of [[], ['sender'], ['recipient'], ['sender', 'recipient']]) {
      const e = valid({ ...base, parties });
      expect(contractFieldsOnly(e)).toEqual({ event: e, dropped: 0 });
    }
    expect(KNOWN_FIELDS.access.has('parties')).toBe(true);
    expect(validateEvent({ ...base, parties: ['courier'] })).toMatchObject({ ok: false, reason: expect.stringContaining('"parties.0"') });
    expect(validateEvent({ ...base, parties: 'sender' })).toMatchObject({ ok: false, reason: expect.stringContaining('"parties"') });
    expect(validateEvent({ ...base, parties: ['sender', 'recipient', 'sender'] }).ok).toBe(false);
  });

  it('partiesOf names each party whose qualified field is listed, once, in contract order', () => {
    expect(partiesOf(['recipient.phone', 'sender.name', 'recipient.name'])).toEqual(['sender', 'recipient']);
    expect(partiesOf(['recipient.phone'])).toEqual(['recipient']);
    expect(partiesOf(['phone', 'senderx.name'])).toEqual([]);
  });
});
