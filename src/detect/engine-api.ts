/**
 * The detection engine's public types: what it returns (alerts with their incident, risk and
 * response), what it takes back (verdicts), its statistics and its interface.
 */
import type { ActivityEvent, Alert, Severity } from '../contracts/events.js';
import type { DetectConfig } from './config.js';
import type { DetectionException } from './exceptions.js';
import type { ResponseAction } from './risk.js';
import type { DetectorFactory } from './types.js';

export interface AlertOut extends Alert {
  /** Incident that groups this account's (or device's) related alerts. */
  incident: string;
  /** Subject risk (0–100) right after this alert. */
  risk: number;
  /** What responseFor(risk) says the gateway should do now. */
  response: ResponseAction;
  /** Id of the event that raised the alert. */
  event_id: string;
}

export interface AlertVerdict {
  alert: Pick<Alert, 'id' | 'account' | 'device' | 'detector' | 'evidence' | 'score' | 'severity'>;
  verdict: 'true_positive' | 'false_positive';
  note?: string;
}

export interface EngineStats {
  events: number;
  byType: Record<string, number>;
  late: number;
  reordered: number;
  /** Events more than `time.max_future_minutes` ahead of the engine's clock: held aside (never moving it), and dropped past the cap. */
  future_held: number;
  future_waiting: number;
  future_dropped: number;
  buffered: number;
  maxBuffered: number;
  alerts: number;
  alertsByDetector: Record<string, number>;
  alertsBySeverity: Record<Severity, number>;
  /** Signals folded into an already-open alert (same detector and subject, no severity rise). */
  suppressed: number;
  suppressedByDetector: Record<string, number>;
  /** Signals dropped because an analyst exception covers the account. */
  excepted: number;
  /** Verdicts handed back through feedback() (counted; a verdict teaches the engine nothing). */
  verdicts: Record<'true_positive' | 'false_positive', number>;
  /** Entries evicted because a map hit its hard cap (before their time-based expiry). */
  evicted: Record<string, number>;
  state: Record<string, number>;
  watermark: string | null;
  detectors: Record<string, Record<string, number>>;
}

export interface DetectionEngine {
  readonly config: DetectConfig;
  /** Feeds one contract event; returns the alerts it (or events it released from the reorder buffer) raised. */
  process(event: ActivityEvent): AlertOut[];
  /** Releases every buffered event (end of a replay, or a live engine told time has moved on). */
  flush(): AlertOut[];
  /** Releases buffered events at or before `t - reorder window` (live: call with the current time). */
  advanceTo(t: number): AlertOut[];
  /** Current risk (0–100) of an account and the response it calls for. */
  riskOf(account: string, at?: number): { risk: number; response: ResponseAction };
  riskOfDevice(device: string, at?: number): { risk: number; response: ResponseAction };
  addException(e: DetectionException): void;
  removeException(e: Pick<DetectionException, 'kind' | 'value' | 'account'>): boolean;
  listExceptions(activeOnly?: boolean): DetectionException[];
  /** A verdict: counted; a false positive takes back the risk its alert added. Nothing is learnt (no device, network, city or build becomes known): that is an approved exception. */
  feedback(v: AlertVerdict): void;
  stats(): EngineStats;
  /** Names of the detectors that are enabled, and whether each is partition-safe by account. */
  detectors(): Array<{ name: string; scope: 'account' | 'global' }>;
}

export interface EngineOptions {
  /** Detector factories (default: all built-in). */
  detectors?: readonly DetectorFactory[];
}

