import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001-initial.js';
import * as watch from './0002-watch.js';
import * as mfa from './0003-mfa.js';
import * as access from './0006-access.js';
import * as auditTree from './0004-audit-tree.js';
import * as console_ from './0009-console.js';
import * as identity from './0005-identity.js';
import * as ingest from './0007-ingest.js';
import * as sharedLedger from './0010-shared-ledger.js';
import * as trace from './0012-trace.js';
import * as pipl from './0013-pipl.js';
import * as tokenApproval from './0014-token-approval.js';
import * as twoAnalysts from './0015-two-analysts.js';
import * as reconcileIndexes from './0016-reconcile-indexes.js';
import * as ledgerSetBased from './0017-ledger-set-based.js';
import * as erasedUnlinked from './0018-erased-unlinked.js';
import * as routingSeal from './0019-routing-seal.js';
import * as dbaReview from './0020-dba-review.js';
import * as trailPii from './0021-trail-pii.js';
import * as trailRequesters from './0022-trail-requesters.js';
import * as caseApprovals from './0023-case-approvals.js';
import * as credentialSeal from './0024-credential-seal.js';
import * as erasureTombstones from './0025-erasure-tombstones.js';

/** Migrations are compiled in (no directory scan), so the same set ships in dist/ and runs in tests. */
const MIGRATIONS: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-watch': watch,
  '0003-mfa': mfa,
  '0004-audit-tree': auditTree,
  '0005-identity': identity,
  '0006-access': access,
  '0007-ingest': ingest,
  '0009-console': console_,
  '0010-shared-ledger': sharedLedger,
  '0012-trace': trace,
  '0013-pipl': pipl,
  '0014-token-approval': tokenApproval,
  '0015-two-analysts': twoAnalysts,
  '0016-reconcile-indexes': reconcileIndexes,
  '0017-ledger-set-based': ledgerSetBased,
  '0018-erased-unlinked': erasedUnlinked,
  '0019-routing-seal': routingSeal,
  '0020-dba-review': dbaReview,
  '0021-trail-pii': trailPii,
  '0022-trail-requesters': trailRequesters,
  '0023-case-approvals': caseApprovals,
  '0024-credential-seal': credentialSeal,
  '0025-erasure-tombstones': erasureTombstones,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
