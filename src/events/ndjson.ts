/**
 * Cuts an NDJSON byte stream into lines as it arrives, bounded: the body may not exceed
 * `maxBytes` (payload_too_large) and a line longer than `maxLineBytes` is reported as too long
 * without being held (its bytes are dropped as they come until its end).
 *
 * Lines are cut at '\n' (never inside a UTF-8 character) and decoded one at a time; a trailing
 * '\r' is dropped. Line numbers count every line, blank ones included, from 1.
 */
import { AppError } from '../errors.js';

export interface LineLimits {
  maxBytes: number;
  maxLineBytes: number;
}

/** `text` is null for a line over maxLineBytes. Returns the number of lines seen. */
export async function forEachNdjsonLine(
  source: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  limits: LineLimits,
  onLine: (text: string | null, lineNo: number) => void,
): Promise<number> {
  let lineNo = 0;
  let total = 0;
  // The start of a line that spans chunks: its pieces, or null once it ran over maxLineBytes.
  let pieces: Buffer[] | null = [];
  let pending = 0;

  const finish = (tail: Buffer) => {
    lineNo++;
    if (pieces === null || pending + tail.length > limits.maxLineBytes) {
      onLine(null, lineNo);
    } else {
      const line = pieces.length ? Buffer.concat([...pieces, tail]) : tail;
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      onLine(line.toString('utf8', 0, end), lineNo);
    }
    pieces = [];
    pending = 0;
  };

  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    total += chunk.length;
    if (total > limits.maxBytes) throw new AppError('payload_too_large', `request body is larger than this endpoint accepts (${limits.maxBytes} bytes)`);
    let start = 0;
    let nl = chunk.indexOf(10, 0);
    while (nl >= 0) {
      finish(chunk.subarray(start, nl));
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length && pieces !== null) {
      const rest = chunk.subarray(start);
      pending += rest.length;
      // A piece must not pin the whole chunk it came from while the line waits for its end.
      if (pending > limits.maxLineBytes) pieces = null;
      else pieces.push(Buffer.from(rest));
    }
  }
  if (pieces === null || pending > 0) finish(Buffer.alloc(0));
  return lineNo;
}
