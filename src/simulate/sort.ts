import type { SimAction } from './action.js';

/**
 * Sorts a day's actions by time, stable for equal times: a counting pass over one-second
 * buckets, then insertion sort inside each bucket (a handful of actions each), O(n).
 */
export function sortByTime(actions: SimAction[]): void {
  const n = actions.length;
  if (n < 2) return;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = actions[i]!.t;
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const width = 1000;
  const nb = Math.floor((max - min) / width) + 1;
  const counts = new Uint32Array(nb + 1);
  for (let i = 0; i < n; i++) counts[Math.floor((actions[i]!.t - min) / width) + 1]!++;
  for (let b = 1; b <= nb; b++) counts[b]! += counts[b - 1]!;
  const out: SimAction[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const a = actions[i]!;
    out[counts[Math.floor((a.t - min) / width)]!++] = a;
  }
  // insertion sort: buckets are already in order and each is tiny
  for (let i = 1; i < n; i++) {
    const a = out[i]!;
    let j = i - 1;
    while (j >= 0 && out[j]!.t > a.t) {
      out[j + 1] = out[j]!;
      j--;
    }
    out[j + 1] = a;
  }
  for (let i = 0; i < n; i++) actions[i] = out[i]!;
}
