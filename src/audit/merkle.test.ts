import { describe, expect, it } from 'vitest';
import {
  consistencyRanges,
  decompose,
  EMPTY_ROOT,
  Frontier,
  inclusionRanges,
  leafHash,
  nodeHash,
  rangeHash,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
  type Range,
  type Subtree,
} from './merkle.js';

/** RFC 6962 MTH written straight from the definition: the reference everything is checked against. */
function mth(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => leafHash(`entry ${i}`));
const subtreeOf = (leaves: Buffer[]) => (s: Subtree) => mth(leaves.slice(s.index * 2 ** s.level, (s.index + 1) * 2 ** s.level));
const hashesOf = (ranges: Range[], leaves: Buffer[]) => ranges.map((r) => rangeHash(r, subtreeOf(leaves)));
const flip = (b: Buffer) => {
  const c = Buffer.from(b);
  c[0]! ^= 1;
  return c;
};

describe('Merkle tree (RFC 6962)', () => {
  it('matches the Certificate Transparency reference roots for the 8-leaf test vector', () => {
    const data = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => leafHash(Buffer.from(h, 'hex')));
    const expected = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    const f = Frontier.empty();
    data.forEach((leaf, i) => {
      f.append(leaf);
      expect(f.root().toString('hex')).toBe(expected[i]);
    });
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('the frontier gives MTH at every size, survives a round trip through storage, and reports every finished subtree once', () => {
    const leaves = leavesOf(300);
    const f = Frontier.empty();
    const finished = new Set<string>();
    leaves.forEach((leaf, i) => {
      for (const s of f.append(leaf)) {
        const key = `${s.level}/${s.index}`;
        expect(finished.has(key)).toBe(false);
        finished.add(key);
        expect(s.hash.equals(subtreeOf(leaves)(s))).toBe(true);
      }
      expect(f.root().equals(mth(leaves.slice(0, i + 1)))).toBe(true);
      const copy = Frontier.parse(f.size, f.serialize());
      expect(copy.root().equals(f.root())).toBe(true);
    });
    // 300 leaves finish 150 + 75 + 37 + 18 + 9 + 4 + 2 + 1 subtrees above the leaves.
    expect(finished.size).toBe(150 + 75 + 37 + 18 + 9 + 4 + 2 + 1);
    expect(() => Frontier.parse(5, Buffer.alloc(32))).toThrow(/holds 2 hashes/);
  });

  it('decomposes a range into aligned subtrees whose right fold is MTH of the range', () => {
    const leaves = leavesOf(70);
    for (let n = 1; n <= 70; n++) {
      expect(rangeHash([0, n], subtreeOf(leaves)).equals(mth(leaves.slice(0, n)))).toBe(true);
    }
    expect(decompose(4, 7)).toEqual([{ level: 1, index: 2 }, { level: 0, index: 6 }]);
  });

  it('inclusion proofs verify for every leaf of every tree up to 70 leaves, and fail for any other leaf, index, size, root or path', () => {
    const leaves = leavesOf(70);
    for (let n = 1; n <= 70; n++) {
      const root = mth(leaves.slice(0, n));
      for (let m = 0; m < n; m++) {
        const path = hashesOf(inclusionRanges(m, n), leaves);
        expect(verifyInclusion(m, n, leaves[m]!, path, root)).toBe(true);
        expect(verifyInclusion(m, n, flip(leaves[m]!), path, root)).toBe(false);
        expect(verifyInclusion(m, n, leaves[m]!, path, flip(root))).toBe(false);
        if (n > 1) expect(verifyInclusion((m + 1) % n, n, leaves[m]!, path, root)).toBe(false);
        if (path.length) {
          expect(verifyInclusion(m, n, leaves[m]!, path.slice(0, -1), root)).toBe(false);
          expect(verifyInclusion(m, n, leaves[m]!, [...path.slice(0, -1), flip(path.at(-1)!)], root)).toBe(false);
        }
        expect(verifyInclusion(m, n, leaves[m]!, [...path, root], root)).toBe(false);
      }
    }
    expect(verifyInclusion(3, 3, leaves[3]!, [], leaves[3]!)).toBe(false);
    expect(() => inclusionRanges(5, 5)).toThrow(RangeError);
  });

  it('consistency proofs verify between every pair of sizes up to 70, and fail for a changed root or proof', () => {
    const leaves = leavesOf(70);
    const roots = Array.from({ length: 71 }, (_, n) => mth(leaves.slice(0, n)));
    for (let n = 1; n <= 70; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = hashesOf(consistencyRanges(m, n), leaves);
        expect(verifyConsistency(m, n, roots[m]!, roots[n]!, proof)).toBe(true);
        expect(verifyConsistency(m, n, flip(roots[m]!), roots[n]!, proof)).toBe(false);
        expect(verifyConsistency(m, n, roots[m]!, flip(roots[n]!), proof)).toBe(false);
        if (proof.length) {
          expect(verifyConsistency(m, n, roots[m]!, roots[n]!, [...proof.slice(0, -1), flip(proof.at(-1)!)])).toBe(false);
          expect(verifyConsistency(m, n, roots[m]!, roots[n]!, proof.slice(1))).toBe(false);
        }
      }
    }
    // A tree that rewrote leaf 3 is not an extension of the original at any size above 3.
    const forked = [...leaves];
    forked[3] = leafHash('rewritten');
    for (let n = 4; n <= 20; n++) {
      for (let m = 4; m <= n; m++) {
        const proof = hashesOf(consistencyRanges(m, n), forked);
        expect(verifyConsistency(m, n, roots[m]!, mth(forked.slice(0, n)), proof)).toBe(false);
      }
    }
  });
});
