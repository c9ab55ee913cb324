/**
 * Replay: stream NDJSON (optionally gzip) through the engine, write alerts as NDJSON, and
 * summarise. Lines are split from raw chunks (faster than readline); a malformed line is counted
 * with its number and reason and never stops the stream.
 */
import { createReadStream, statSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { parseEventLine, validateEvent, type ActivityEvent, type ParseResult, type Severity } from '../contracts/events.js';
import { isValidEvent } from '../contracts/fast-validate.js';
import type { DetectionEngine, EngineStats } from './engine.js';

/** Calls onLine(text, lineNumber) for every line of the byte stream (\n or \r\n ends). */
export async function forEachLine(source: AsyncIterable<Buffer | string>, onLine: (line: string, lineNo: number) => void): Promise<number> {
  // Lines are cut from raw bytes at '\n' (always a character boundary in UTF-8) and decoded one
  // by one: measurably cheaper than readline or decoding whole chunks to strings first. Only the
  // line that spans two chunks is copied (not the whole next chunk).
  let lineNo = 0;
  let rest: Buffer | undefined;
  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    let start = 0;
    let nl = chunk.indexOf(10, 0);
    if (rest !== undefined) {
      if (nl < 0) {
        rest = Buffer.concat([rest, chunk]);
        continue;
      }
      const line = Buffer.concat([rest, chunk.subarray(0, nl)]);
      rest = undefined;
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      lineNo++;
      onLine(line.toString('utf8', 0, end), lineNo);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    while (nl >= 0) {
      const end = nl > start && chunk[nl - 1] === 13 ? nl - 1 : nl;
      lineNo++;
      onLine(chunk.toString('utf8', start, end), lineNo);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) rest = chunk.subarray(start);
  }
  if (rest && rest.length) {
    const end = rest[rest.length - 1] === 13 ? rest.length - 1 : rest.length;
    lineNo++;
    onLine(rest.toString('utf8', 0, end), lineNo);
  }
  return lineNo;
}

export class InputError extends Error {
  readonly exitCode = 2;
}

/**
 * Opens a file (or "-" for stdin) as a byte stream, decompressing gzip when the name ends in
 * .gz or the data starts with the gzip magic bytes.
 */
export async function openInput(path: string, stdin: Readable = process.stdin): Promise<AsyncIterable<Buffer>> {
  let src: Readable;
  if (path === '-') src = stdin;
  else {
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new InputError(`${path}: not a regular file`);
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    src = createReadStream(path, { highWaterMark: 1 << 20 });
  }
  const it = src[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first: IteratorResult<Buffer>;
  try {
    first = await it.next();
  } catch (err) {
    throw new InputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  async function* all(): AsyncGenerator<Buffer> {
    if (first.done) return;
    yield typeof first.value === 'string' ? Buffer.from(first.value) : first.value;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  const head = first.done ? undefined : (first.value as Buffer);
  const gz = path.endsWith('.gz') || (head !== undefined && head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b);
  if (!gz) return all();
  const { Readable: R } = await import('node:stream');
  const gunzip = createGunzip();
  const piped = R.from(all()).pipe(gunzip);
  return (async function* () {
    try {
      for await (const c of piped) yield c as Buffer;
    } catch (err) {
      throw new InputError(`${path}: not valid gzip (${(err as Error).message})`);
    }
  })();
}

export interface RejectedLine {
  line: number;
  reason: string;
}

export interface ReplaySummary {
  lines: number;
  blank_lines: number;
  events_read: number;
  accepted: number;
  rejected: number;
  rejected_samples: RejectedLine[];
  alerts: number;
  alerts_by_detector: Record<string, number>;
  alerts_by_severity: Record<Severity, number>;
  suppressed_repeats: number;
  excepted: number;
  late_events: number;
  reordered_events: number;
  seconds: number;
  events_per_second: number;
  engine: EngineStats;
}

export interface ReplayOptions {
  engine: DetectionEngine;
  input: AsyncIterable<Buffer | string>;
  /** Where alert NDJSON goes (backpressure respected). */
  output?: Writable;
  /** Alternatively, a callback per alert line (tests). */
  onAlertLine?: (line: string) => void;
  /** How many rejected lines to keep with their reasons (all are counted). */
  rejectSamples?: number;
  /** Monotonic clock for the events/s figure only; never used for detection. */
  clock?: () => number;
}

export async function replay(opts: ReplayOptions): Promise<ReplaySummary> {
  const { engine } = opts;
  const clock = opts.clock ?? (() => performance.now());
  const started = clock();
  const keep = opts.rejectSamples ?? 20;
  let blank = 0;
  let read = 0;
  let rejected = 0;
  const samples: RejectedLine[] = [];
  let pending: string[] = [];
  let pendingBytes = 0;
  const out = opts.output;

  const emitAlerts = (alerts: ReturnType<DetectionEngine['process']>): void => {
    if (alerts.length === 0) return;
    for (const a of alerts) {
      const line = `${JSON.stringify(a)}\n`;
      if (opts.onAlertLine) opts.onAlertLine(line);
      if (out) {
        pending.push(line);
        pendingBytes += line.length;
      }
    }
  };
  const reject = (lineNo: number, r: ParseResult): void => {
    if (r.ok) return;
    rejected++;
    if (samples.length < keep) samples.push({ line: lineNo, reason: r.reason });
  };
  const drain = async (): Promise<void> => {
    if (!out || pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    pendingBytes = 0;
    if (!out.write(text)) await new Promise<void>((resolve) => out.once('drain', resolve));
  };

  // Batch lines per chunk so output backpressure is awaited between chunks, not per line.
  const source = opts.input;
  async function* withDrain(): AsyncGenerator<Buffer | string> {
    for await (const c of source) {
      yield c;
      if (pendingBytes > 1 << 16) await drain();
    }
  }
  const lines = await forEachLine(withDrain(), (line, lineNo) => {
    if (line.length === 0 || isBlank(line)) {
      blank++;
      return;
    }
    read++;
    // parseEventLine's decision without its result object: JSON.parse, then the fast contract
    // check; only a line it does not accept goes to parseEventLine/validateEvent for the reason.
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      reject(lineNo, parseEventLine(line));
      return;
    }
    if (!isValidEvent(value)) {
      const r = validateOrExplain(value);
      if (!r.ok) {
        reject(lineNo, r);
        return;
      }
      value = r.event; // never happens while fast-validate.test.ts passes; the schemas decide
    }
    emitAlerts(engine.process(value as ActivityEvent));
  });
  emitAlerts(engine.flush());
  await drain();

  const seconds = (clock() - started) / 1000;
  const stats = engine.stats();
  return {
    lines,
    blank_lines: blank,
    events_read: read,
    accepted: read - rejected,
    rejected,
    rejected_samples: samples,
    alerts: stats.alerts,
    alerts_by_detector: stats.alertsByDetector,
    alerts_by_severity: stats.alertsBySeverity,
    suppressed_repeats: stats.suppressed,
    excepted: stats.excepted,
    late_events: stats.late,
    reordered_events: stats.reordered,
    seconds,
    events_per_second: seconds > 0 ? Math.round(read / seconds) : 0,
    engine: stats,
  };
}

/**
 * validateEvent, except that a `type` naming an Object.prototype member ("toString",
 * "constructor", "__proto__") is rejected as an unknown type: validateEvent looks the checker up
 * in a plain object and throws a TypeError for those, which must not stop a replay.
 */
function validateOrExplain(value: unknown): ParseResult {
  try {
    return validateEvent(value);
  } catch (err) {
    const type = (value as { type?: unknown } | null)?.type;
    if (typeof type === 'string') return { ok: false, reason: `unknown event type "${type.slice(0, 40)}"` };
    return { ok: false, reason: `invalid event (${(err as Error).message.slice(0, 120)})` };
  }
}

function isBlank(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13) return false;
  }
  return true;
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** Human summary for stderr. */
export function formatSummary(s: ReplaySummary, showRejected = 5): string {
  const lines: string[] = [];
  lines.push(
    `warden detect: ${fmt(s.events_read)} events read (${fmt(s.accepted)} accepted, ${fmt(s.rejected)} rejected) in ${s.seconds.toFixed(2)} s — ${fmt(s.events_per_second)} events/s`,
  );
  if (s.rejected) {
    const shown = s.rejected_samples.slice(0, showRejected).map((r) => `line ${r.line}: ${r.reason}`);
    lines.push(`  rejected lines (first ${shown.length} of ${fmt(s.rejected)}):`);
    for (const x of shown) lines.push(`    ${x}`);
  }
  lines.push(`  disorder: ${fmt(s.reordered_events)} reordered within the window, ${fmt(s.late_events)} late (processed, not dropped)`);
  lines.push(`  alerts: ${fmt(s.alerts)} (repeats folded into open alerts: ${fmt(s.suppressed_repeats)}; excepted: ${fmt(s.excepted)})`);
  const det = Object.entries(s.alerts_by_detector).sort((a, b) => b[1] - a[1]);
  lines.push(`    by detector: ${det.length ? det.map(([k, v]) => `${k} ${fmt(v)}`).join(', ') : 'none'}`);
  lines.push(`    by severity: ${(['critical', 'high', 'medium', 'low'] as const).map((k) => `${k} ${fmt(s.alerts_by_severity[k])}`).join(', ')}`);
  const ev = Object.entries(s.engine.evicted);
  if (ev.length) lines.push(`  state evicted at caps: ${ev.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`);
  return lines.join('\n');
}
