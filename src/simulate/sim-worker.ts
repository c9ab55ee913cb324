/**
 * Generates a run's days on a second thread and hands each day's bytes to the writer thread
 * (transferred, not copied). At most `AHEAD` days wait unwritten: the worker blocks on a shared
 * counter until the writer catches up, so memory stays flat however long the run.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createSimulation } from './index.js';
import type { SimParams } from './params.js';

const AHEAD = 2;
const { params, progress } = workerData as { params: SimParams; progress: SharedArrayBuffer };
const written = new Int32Array(progress);
const run = createSimulation(params);
const play = run.bytes();
let produced = 0;
for (const day of play.days) {
  const a = day.arena;
  const order = a.order();
  const buffers = new Set<ArrayBuffer>([a.t.buffer, a.chunk.buffer, a.start.buffer, a.len.buffer, a.tag.buffer, order.buffer] as ArrayBuffer[]);
  for (const c of a.chunks) buffers.add(c.buffer as ArrayBuffer);
  parentPort!.postMessage(
    { day: day.day, date: day.date, n: a.n, t: a.t, chunk: a.chunk, start: a.start, len: a.len, tag: a.tag, order, chunks: a.chunks.map((c) => new Uint8Array(c.buffer, c.byteOffset, c.length)) },
    [...buffers],
  );
  produced++;
  // wait until the writer has no more than AHEAD days in hand
  for (;;) {
    const w = Atomics.load(written, 0);
    if (produced - w <= AHEAD) break;
    Atomics.wait(written, 0, w, 1000);
  }
}
parentPort!.postMessage({ done: true, exposed: [...play.exposed].map(([tag, set]) => [tag, set.size]) });
