/**
 * Raising alerts: a detector's signal becomes an alert unless an account exception covers it or
 * it repeats an open alert (same detector, subject and sub-subject, no severity rise, within the
 * cooldown: folded and counted). Each alert joins its subject's incident (a new one after
 * `incident_gap_hours` of quiet), adds to the subject's risk and says what response that risk
 * calls for. Alerts are never capped; the alerts of one call are collected until `take()`.
 */
import type { ActivityEvent, Severity } from '../contracts/events.js';
import type { DetectConfig } from './config.js';
import type { AlertOut } from './engine-api.js';
import type { ExceptionSet } from './exceptions.js';
import { RISK_WEIGHT, responseFor, severityFor, type RiskBook } from './risk.js';
import type { SignalInput } from './types.js';
import { HOUR, SEVERITY_RANK, stableId } from './util.js';

interface DedupMemo {
  rank: number;
  at: number;
}
interface Incident {
  id: string;
  last: number;
}

// Most events raise nothing: hand back one shared frozen empty array instead of allocating.
const NONE: AlertOut[] = Object.freeze([]) as unknown as AlertOut[];

export interface AlertCounts {
  alerts: number;
  alertsByDetector: Record<string, number>;
  alertsBySeverity: Record<Severity, number>;
  suppressed: number;
  suppressedByDetector: Record<string, number>;
  excepted: number;
}

export class AlertDesk {
  readonly counts: AlertCounts = {
    alerts: 0,
    alertsByDetector: {},
    alertsBySeverity: { low: 0, medium: 0, high: 0, critical: 0 },
    suppressed: 0,
    suppressedByDetector: {},
    excepted: 0,
  };
  private readonly dedup = new Map<string, DedupMemo>();
  private readonly incidents = new Map<string, Incident>();
  private out: AlertOut[] = NONE;
  private readonly cooldown: number;
  private readonly incidentGap: number;

  constructor(
    private readonly cfg: DetectConfig,
    private readonly risk: RiskBook,
    private readonly exceptions: ExceptionSet,
  ) {
    this.cooldown = cfg.risk.cooldown_hours * HOUR;
    this.incidentGap = cfg.risk.incident_gap_hours * HOUR;
  }

  get openIncidents(): number {
    return this.incidents.size;
  }

  /** The alerts raised since the last take(), and a fresh (empty) collection. */
  take(): AlertOut[] {
    const out = this.out;
    this.out = NONE;
    return out;
  }

  /** A detector's signal on event `ev` at `t`. */
  raise(detector: string, sig: SignalInput, ev: ActivityEvent, t: number): void {
    const c = this.counts;
    const account = sig.account;
    const device = sig.device;
    if (account !== undefined && this.exceptions.has('account', account, account, t)) {
      c.excepted++;
      return;
    }
    const cfg = this.cfg;
    const score = Math.round(Math.max(0, Math.min(100, sig.score)));
    const severity = sig.severity ?? severityFor(score, cfg);
    const rank = SEVERITY_RANK[severity];
    const subject = account !== undefined ? `a:${account}` : device !== undefined ? `d:${device}` : `x:${sig.subject ?? ''}`;
    const memoKey = `${detector}|${subject}|${sig.subject ?? ''}`;
    const memo = this.dedup.get(memoKey);
    if (memo && rank <= memo.rank && t - memo.at < this.cooldown) {
      c.suppressed++;
      c.suppressedByDetector[detector] = (c.suppressedByDetector[detector] ?? 0) + 1;
      return;
    }
    this.dedup.set(memoKey, { rank, at: t });

    const id = stableId('al', `${detector}|${account ?? ''}|${device ?? ''}|${sig.subject ?? ''}|${ev.id}`);
    let inc = this.incidents.get(subject);
    if (!inc || t - inc.last > this.incidentGap) {
      inc = { id: stableId('inc', `${subject}|${id}`), last: t };
      this.incidents.set(subject, inc);
    } else inc.last = t;
    const r = Math.round(this.risk.add(subject, score * RISK_WEIGHT[severity], t));

    const alert: AlertOut = {
      id,
      ts: ev.ts,
      ...(account !== undefined ? { account } : {}),
      ...(device !== undefined ? { device } : {}),
      detector,
      severity,
      score,
      summary: sig.summary,
      evidence: sig.evidence,
      incident: inc.id,
      risk: r,
      response: responseFor(r, cfg),
      event_id: ev.id,
    };
    c.alerts++;
    c.alertsByDetector[detector] = (c.alertsByDetector[detector] ?? 0) + 1;
    c.alertsBySeverity[severity]++;
    if (this.out === NONE) this.out = [];
    this.out.push(alert);
  }

  /** Forgets dedup memos past the cooldown (and incident gap) and incidents past the gap. */
  sweep(t: number): void {
    const memoTtl = Math.max(this.cooldown, this.incidentGap);
    this.dedup.forEach((m, k) => {
      if (t - m.at > memoTtl) this.dedup.delete(k);
    });
    this.incidents.forEach((inc, k) => {
      if (t - inc.last > this.incidentGap) this.incidents.delete(k);
    });
  }
}
