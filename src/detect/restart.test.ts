import { describe, expect, it } from 'vitest';
import { parseEventLine, type ActivityEvent } from '../contracts/events.js';
import { LineSerializer, createSimulation, resolveParams } from '../simulate/index.js';
import { createDetectionEngine, type AlertOut, type DetectionEngine } from './engine.js';
import { FutureHold } from './future.js';

function simulated(seed: number): ActivityEvent[] {
  const ser = new LineSerializer();
  const out: ActivityEvent[] = [];
  let n = 0;
  for (const day of createSimulation(resolveParams({ seed }, 'tiny')).days()) {
    for (const a of day.actions) {
      const r = parseEventLine(ser.line(a, `e${++n}`).trimEnd());
      if (!r.ok) throw new Error(r.reason);
      out.push(r.event);
    }
  }
  return out;
}

const feed = (engine: DetectionEngine, events: readonly ActivityEvent[]): AlertOut[] => {
  const alerts: AlertOut[] = [];
  for (const e of events) alerts.push(...engine.process(e));
  return alerts;
};
const key = (a: AlertOut) => `${a.id} ${a.severity} ${a.score} ${a.risk} ${a.incident}`;

describe('restart', () => {
  const events = simulated(4);

  it('a stopped engine rebuilt from the stored history raises the same alerts as one that never stopped', () => {
    const whole = createDetectionEngine({});
    const all = [...feed(whole, events), ...whole.flush()];
    for (const cut of [Math.floor(events.length * 0.37), Math.floor(events.length * 0.81)]) {
      const before = createDetectionEngine({});
      const first = feed(before, events.slice(0, cut)); // ... and the process stops here, buffer unflushed
      // restart: a fresh engine replays the stored history (alerts already raised are discarded) and goes on
      const after = createDetectionEngine({});
      const replayed = feed(after, events.slice(0, cut));
      expect(replayed.map(key)).toEqual(first.map(key));
      const rest = [...feed(after, events.slice(cut)), ...after.flush()];
      expect([...first, ...rest].map(key)).toEqual(all.map(key));
      expect(rest.length).toBeGreaterThan(0);
    }
  }, 120_000);

  it('an event from the far future never moves the clock: the other events raise the same alerts, and it is scored in its own time', () => {
    const plain = createDetectionEngine({});
    const expected = [...feed(plain, events), ...plain.flush()];
    const mid = Math.floor(events.length / 2);
    const src = events[mid]!;
    const far: ActivityEvent = { ...src, id: 'far-future', ts: '2031-01-01T00:00:00.000Z' } as ActivityEvent;
    const skewed = createDetectionEngine({});
    const got = [...feed(skewed, [...events.slice(0, mid), far, ...events.slice(mid)])];
    const s = skewed.stats();
    expect(s.future_held).toBeGreaterThanOrEqual(1);
    expect(s.future_waiting).toBeGreaterThanOrEqual(1);
    expect(Date.parse(s.watermark!)).toBeLessThan(Date.parse('2030-01-01T00:00:00Z'));
    expect(s.late).toBe(0); // nothing after it was treated as late
    got.push(...skewed.flush());
    const others = got.filter((a) => a.event_id !== 'far-future');
    expect(others.map(key)).toEqual(expected.map(key));
    expect(skewed.stats().future_waiting).toBe(0);
    expect(skewed.stats().byType[far.type]).toBe(plain.stats().byType[far.type]! + 1);
    expect(skewed.stats().future_dropped).toBe(0);
  }, 120_000);
});

describe('FutureHold', () => {
  it('keeps held events in time order, releases up to a time, and drops the furthest past its cap (counted)', () => {
    const h = new FutureHold(2);
    const ev = (id: string) => ({ id }) as unknown as ActivityEvent;
    h.add(ev('c'), 30);
    h.add(ev('a'), 10);
    h.add(ev('b'), 20);
    expect(h.size).toBe(2);
    expect(h.dropped).toBe(1);
    const got: string[] = [];
    h.takeUpTo(15, (e) => got.push(e.id));
    expect(got).toEqual(['a']);
    h.takeUpTo(Infinity, (e) => got.push(e.id));
    expect(got).toEqual(['a', 'b']);
    expect(h.held).toBe(3);
  });
});
