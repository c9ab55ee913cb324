/**
 * The gateway's access events say whose fields a reveal showed (contract extension 1.4,
 * `parties`): attack review 10 revealed sender and recipient together and the event read
 * `fields: [name, phone]`, as for one person.
 */
import { describe, expect, it } from 'vitest';
import { validateEvent } from '../contracts/events.js';
import type { AuditRecord } from '../audit/kinds.js';
import { eventsFromAudit } from './from-audit.js';

const record = (over: Partial<AuditRecord>): AuditRecord => ({
  seq: 7,
  hash: Buffer.alloc(32),
  prevHash: Buffer.alloc(32),
  kind: 'access.reveal',
  ts: new Date('2026-11-11T02:00:00.000Z'),
  decision: 'allowed',
  account: 'k1',
  role: 'outlet_staff',
  site: 'OUT-BJ-1',
  waybill: 'SF1000000010',
  purpose: 'other',
  ...over,
});

describe('eventsFromAudit: parties of a reveal', () => {
  it('a reveal of both parties names both (the hole: it read as one person\'s name and phone)', () => {
    const [e] = eventsFromAudit([record({ fields: ['sender.name', 'sender.phone', 'recipient.name', 'recipient.phone'] })]);
    expect(e).toMatchObject({ type: 'access', action: 'reveal', fields: ['name', 'phone'], parties: ['sender', 'recipient'], result: 'allowed' });
    expect(validateEvent(e).ok).toBe(true);
  });

  it('a reveal of one party names that one', () => {
    const [e] = eventsFromAudit([record({ fields: ['recipient.phone', 'recipient.name'] })]);
    expect(e).toMatchObject({ fields: ['phone', 'name'], parties: ['recipient'] });
    expect(validateEvent(e).ok).toBe(true);
  });

  it('a denied reveal showed nobody; views and prints carry no parties', () => {
    const [denied, view, print] = eventsFromAudit([
      record({ decision: 'denied', reason: 'quota_exceeded', fields: ['sender.name', 'recipient.name'] }),
      record({ kind: 'access.view', fields: null }),
      record({ kind: 'access.print', fields: null }),
    ]);
    expect(denied).toMatchObject({ fields: [], parties: [], result: 'denied' });
    expect(view).not.toHaveProperty('parties');
    expect(print).not.toHaveProperty('parties');
    for (const e of [denied, view, print]) expect(validateEvent(e).ok).toBe(true);
  });
});
