/**
 * Golden output: the whole tiny world (seed 1, 6 days, every attack and look-alike) hashed, events
 * and truth file. Refactors of the simulator must leave these bytes as they are.
 *
 * When the simulator's behaviour changes on purpose (a new scenario, a different draw), regenerate:
 *   node bin/warden.js simulate --preset tiny --seed 1 --out /tmp/g.ndjson --truth /tmp/g.json --quiet
 *   sha256sum /tmp/g.ndjson /tmp/g.json
 * (after `npx tsc -p tsconfig.build.json`), paste the two hashes below and say why in the commit.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSimulation, resolveParams, writeSimulation } from './index.js';

const EVENTS_SHA256 = '267cf48072f80577bb829aacd328f9fd2080271bab203204e87dbf19496fbd46';
const TRUTH_SHA256 = '3d65c19f439817d00d08eb12fc9821063cfcf614d4fc76ed4d669fa35c093914';

const dir = mkdtempSync(join(tmpdir(), 'warden-golden-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('simulator golden output', () => {
  it('writes the same bytes for the tiny world, seed 1, as when the hashes were taken', async () => {
    const out = join(dir, 'events.ndjson');
    const truth = join(dir, 'truth.json');
    await writeSimulation(createSimulation(resolveParams({ seed: 1 }, 'tiny')), { out, truth, threads: false });
    expect(sha256(out)).toBe(EVENTS_SHA256);
    expect(sha256(truth)).toBe(TRUTH_SHA256);
  }, 60_000);
});
