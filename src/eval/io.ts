/** Reading warden eval's three inputs from files (plain or .gz), with clear errors for bad ones. */
import { createReadStream, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { type AlertLite, type EvalReport, EvalInputError, createScorer, parseAlertLine, parseEventLite, parseTruth } from './eval.js';

function mustExist(path: string, what: string): void {
  try {
    if (!statSync(path).isFile()) throw new EvalInputError(`${what} ${path} is not a file`);
  } catch (err) {
    if (err instanceof EvalInputError) throw err;
    throw new EvalInputError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Lines of a text file; `.gz` is decompressed. Blank lines are skipped; line numbers are 1-based. */
export async function* readLines(path: string): AsyncGenerator<[string, number]> {
  let input: Readable = createReadStream(path, { highWaterMark: 1 << 20 });
  if (path.endsWith('.gz')) {
    const gz = createGunzip();
    input.on('error', (e) => gz.destroy(e));
    input = input.pipe(gz);
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of rl) {
      n++;
      if (line.length === 0 || line.trim().length === 0) continue;
      yield [line, n];
    }
  } catch (err) {
    throw new EvalInputError(`${path}: cannot be read past line ${n}: ${(err as Error).message}`);
  }
}

export interface EvalPaths {
  events: string;
  truth: string;
  alerts: string;
}

export async function evaluateFiles(paths: EvalPaths, opts: { graceHours?: number } = {}): Promise<EvalReport> {
  mustExist(paths.truth, 'truth file');
  mustExist(paths.events, 'events file');
  mustExist(paths.alerts, 'alerts file');
  const raw = await readFile(paths.truth);
  const truth = parseTruth((paths.truth.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8'), paths.truth);

  const alerts: AlertLite[] = [];
  for await (const [line, n] of readLines(paths.alerts)) alerts.push(parseAlertLine(line, n, paths.alerts));

  const scorer = createScorer(truth, opts);
  let rejected = 0;
  let firstBad: number | undefined;
  let good = 0;
  for await (const [line, n] of readLines(paths.events)) {
    const e = parseEventLite(line);
    if (!e) {
      rejected++;
      firstBad ??= n;
      continue;
    }
    good++;
    scorer.addEvent(e);
  }
  if (good === 0) {
    throw new EvalInputError(`events file ${paths.events} has no valid events${firstBad !== undefined ? ` (first bad line: ${firstBad})` : ' (it is empty)'}`);
  }
  if (rejected > 0) process.stderr.write(`warden eval: ${rejected} event lines rejected (first at line ${firstBad})\n`);
  return scorer.finish(alerts, rejected);
}
