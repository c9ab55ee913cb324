/**
 * Review of attack review 11's change: `warden audit reconcile --policy FILE` recounts quotas
 * against the file it is given — a looser file than the server runs would have hidden the
 * overruns the recount exists to find. The file is held to the rule WARDEN_POLICY_FILE already
 * was: used only when it is the policy the trail last recorded loading.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestWarden, type TestWarden } from '../support/warden.js';
import { loadPolicy } from '../../src/access/policy.js';
import { policyInForce } from '../../src/audit/reconcile/index.js';

describe('reconcile --policy is held to the policy the trail recorded', () => {
  let w: TestWarden;
  const dir = mkdtempSync(join(tmpdir(), 'warden-policy-'));
  beforeAll(async () => {
    w = await startTestWarden('pglite');
  });
  afterAll(() => w?.dispose());

  it('allowed: the policy the server loaded (the defaults here) is recounted against', async () => {
    const same = join(dir, 'same.json');
    writeFileSync(same, JSON.stringify(loadPolicy()));
    expect(await policyInForce(w.warden.db, same)).not.toBeNull();
  });

  it('refused: a looser file is not used for the recount', async () => {
    const policy = loadPolicy();
    // Every limit a thousand times the server's: the clerk's 45 a minute would pass it.
    const looser = { ...policy, quotas: JSON.parse(JSON.stringify(policy.quotas), (_k, v) => (typeof v === 'number' ? v * 1000 : v)) };
    const file = join(dir, 'loose.json');
    writeFileSync(file, JSON.stringify(looser));
    expect(await policyInForce(w.warden.db, file)).toBeNull();
  });
});
