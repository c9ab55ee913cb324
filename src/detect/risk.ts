/**
 * Risk scores and the response policy. Pure functions: the gateway calls responseFor() with the
 * risk the engine reports for an account, and enforces the action on the next request.
 */
import type { Severity } from '../contracts/events.js';
import type { DetectConfig } from './config.js';
import { clamp, decay, HOUR } from './util.js';

export type ResponseAction = 'none' | 'step_up' | 'throttle' | 'suspend';

/** Maps a risk score (0–100) to the action the gateway should take. */
export function responseFor(risk: number, config: Pick<DetectConfig, 'response'>): ResponseAction {
  const r = config.response;
  if (risk >= r.suspend) return 'suspend';
  if (risk >= r.throttle) return 'throttle';
  if (risk >= r.step_up) return 'step_up';
  return 'none';
}

/** Severity of a detector score under the configured cut-offs. */
export function severityFor(score: number, config: Pick<DetectConfig, 'risk'>): Severity {
  const r = config.risk;
  if (score >= r.severity_critical) return 'critical';
  if (score >= r.severity_high) return 'high';
  if (score >= r.severity_medium) return 'medium';
  return 'low';
}

/** How much of an alert's score adds to the subject's risk, by severity. */
export const RISK_WEIGHT: Record<Severity, number> = { low: 0.25, medium: 0.6, high: 0.9, critical: 1 };

export interface RiskState {
  value: number;
  at: number;
}

export class RiskBook {
  private readonly book = new Map<string, RiskState>();
  private readonly halfLife: number;

  constructor(config: Pick<DetectConfig, 'risk'>) {
    this.halfLife = config.risk.half_life_hours * HOUR;
  }

  /** Current (decayed) risk of a subject at event time t. */
  get(subject: string, t: number): number {
    const s = this.book.get(subject);
    if (!s) return 0;
    return decay(s.value, t - s.at, this.halfLife);
  }

  add(subject: string, amount: number, t: number): number {
    const value = clamp(this.get(subject, t) + amount, 0, 100);
    const prev = this.book.get(subject);
    if (prev && prev.at > t) {
      // A late alert: keep the newer timestamp so decay never runs backwards.
      prev.value = clamp(prev.value + amount, 0, 100);
      return prev.value;
    }
    this.book.set(subject, { value, at: t });
    return value;
  }

  sweep(t: number): void {
    for (const [k, s] of this.book) if (decay(s.value, t - s.at, this.halfLife) < 0.5) this.book.delete(k);
  }

  entries(t: number): Array<[string, number]> {
    return [...this.book.keys()].map((k) => [k, this.get(k, t)] as [string, number]).sort((a, b) => b[1] - a[1]);
  }

  get size(): number {
    return this.book.size;
  }
}
