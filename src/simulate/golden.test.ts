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

const EVENTS_SHA256 = 'bede5675a8e511df5eba5c9019b2d2fff67c31ed4ed11ddabe0f2d35cae3896a';
const TRUTH_SHA256 = '32d7f732e4605781ef913510b0a46151ad3e22e33590a1692a4beba4d6868c0f';

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
