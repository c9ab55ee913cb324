/**
 * Whether an allowed reveal was explained by real work, read from the basis the access policy
 * recorded on its audit entry (`detail.basis`, comma-joined when several rules held).
 *
 * Invariant: "explained" means a specific piece of work backs the reveal — an assignment, an
 * open ticket, a recent phone search, or an approved case. A reveal allowed only by the
 * account's scope (its site or its city) is allowed but unexplained: nothing ties that parcel to
 * that person's work, which is exactly what the unexplained-access detector watches. An entry
 * with no recorded basis is unexplained (fail closed).
 */
export const WORK_BASES = ['assignment', 'ticket', 'phone_search', 'case'] as const;
export const SCOPE_BASES = ['site', 'city'] as const;
export type Basis = (typeof WORK_BASES)[number] | (typeof SCOPE_BASES)[number];

export interface Explanation {
  explained: boolean;
  /** The strongest basis that held (work before scope), or null when none was recorded. */
  by: Basis | null;
}

const RANK: readonly Basis[] = [...WORK_BASES, ...SCOPE_BASES];

export function explainBasis(basis: unknown): Explanation {
  if (typeof basis !== 'string' || basis === '') return { explained: false, by: null };
  const held = new Set(basis.split(','));
  const by = RANK.find((b) => held.has(b)) ?? null;
  return { explained: by !== null && (WORK_BASES as readonly string[]).includes(by), by };
}
