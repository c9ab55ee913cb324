/**
 * Assembles output lines straight into a byte buffer: `{"id":"e<n>","ts":"<ISO>"` written digit by
 * digit, then the action's pre-serialized body copied in. No string is built per line; this is
 * the writer thread's whole per-event cost.
 */
const DAY = 86_400_000;
const enc = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const ID_OPEN = enc('{"id":"e');
const TS_OPEN = enc('","ts":"');

export class LineAssembler {
  private day = Number.NaN;
  private datePart = new Uint8Array(0);

  /** Writes the prefix for event number n at time t into out at off; returns the new offset. */
  prefix(out: Uint8Array, off: number, n: number, t: number): number {
    for (let k = 0; k < ID_OPEN.length; k++) out[off++] = ID_OPEN[k]!;
    // decimal digits of n
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let x = n;
    for (let k = digits - 1; k >= 0; k--) {
      out[off + k] = 48 + (x % 10);
      x = Math.floor(x / 10);
    }
    off += digits;
    for (let k = 0; k < TS_OPEN.length; k++) out[off++] = TS_OPEN[k]!;
    const d = Math.floor(t / DAY);
    if (d !== this.day) {
      this.day = d;
      this.datePart = enc(new Date(d * DAY).toISOString().slice(0, 11)); // YYYY-MM-DDT
    }
    const dp = this.datePart;
    for (let k = 0; k < dp.length; k++) out[off++] = dp[k]!;
    let r = t - d * DAY;
    const h = Math.floor(r / 3_600_000);
    r -= h * 3_600_000;
    const m = Math.floor(r / 60_000);
    r -= m * 60_000;
    const s = Math.floor(r / 1000);
    const ms = r - s * 1000;
    out[off++] = 48 + Math.floor(h / 10);
    out[off++] = 48 + (h % 10);
    out[off++] = 58; // :
    out[off++] = 48 + Math.floor(m / 10);
    out[off++] = 48 + (m % 10);
    out[off++] = 58;
    out[off++] = 48 + Math.floor(s / 10);
    out[off++] = 48 + (s % 10);
    out[off++] = 46; // .
    out[off++] = 48 + Math.floor(ms / 100);
    out[off++] = 48 + (Math.floor(ms / 10) % 10);
    out[off++] = 48 + (ms % 10);
    out[off++] = 90; // Z
    out[off++] = 34; // "
    return off;
  }
}

/** Copies len bytes; a plain loop for short runs avoids allocating a subarray view. */
export function copyBytes(src: Uint8Array, from: number, len: number, out: Uint8Array, off: number): number {
  if (len > 24) {
    out.set(src.subarray(from, from + len), off);
    return off + len;
  }
  for (let k = 0; k < len; k++) out[off + k] = src[from + k]!;
  return off + len;
}
