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

const EVENTS_SHA256 = '11188c23d511213150bee8b82eb52795aa515563da41abbff21de684c1d8181e';
const TRUTH_SHA256 = '2425b92d57ad9cab222e6274e66ae3c4d575dec9f15b5866400de78b6e83b57c';

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
