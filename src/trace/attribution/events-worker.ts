/** One byte range of an events file, scanned on its own thread (./events-file.ts). */
import { parentPort, workerData } from 'node:worker_threads';
import { scanRange } from './events-file.js';

const { path, from, to, leaked } = workerData as { path: string; from: number; to: number; leaked: string[] };
const part = scanRange(path, from, to, new Set(leaked));
parentPort!.postMessage(part, [part.seen.buffer as ArrayBuffer]);
