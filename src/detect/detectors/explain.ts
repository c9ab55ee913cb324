/**
 * The per-dimension explanation every alert carries: is this value first seen for the account,
 * uncommon among its peers (same role, same site), uncommon company-wide — and over which window.
 */
import type { DetectorEnv, EventContext } from '../types.js';

export interface DimensionEvidence {
  dimension: 'device' | 'network' | 'city' | 'hour' | 'app_hash';
  value: string | number;
  first_seen_for_account: boolean;
  /** How many of the account's peers have used it, of how many. */
  peers_using: number;
  peer_group_size: number;
  uncommon_among_peers: boolean;
  /** How many accounts company-wide have used it. */
  company_accounts_using: number;
  uncommon_company_wide: boolean;
  baseline_window_days: number;
}

export function dimension(env: DetectorEnv, ctx: EventContext, dim: DimensionEvidence['dimension']): DimensionEvidence {
  const share = env.config.baseline.uncommon_share;
  const peers = ctx.peers;
  const groupSize = peers ? peers.members.size : 0;
  const totalAccounts = env.state.accounts.size;
  let value: string | number = '';
  let first = false;
  let peersUsing = 0;
  let company = 0;
  switch (dim) {
    case 'device': {
      value = ctx.event.device ?? '';
      first = ctx.deviceSeen === undefined;
      const d = ctx.device;
      company = d ? d.accounts.size : 0;
      if (d && peers) for (const a of d.accounts) if (peers.members.has(a)) peersUsing++;
      break;
    }
    case 'network': {
      value = ctx.network?.key ?? '';
      first = ctx.networkSeen === undefined;
      company = ctx.network ? ctx.network.accounts.size : 0;
      peersUsing = peers?.networks.get(String(value)) ?? 0;
      break;
    }
    case 'city': {
      value = ctx.cityKey ?? '';
      first = ctx.citySeen === undefined;
      company = env.state.cityAccounts.get(String(value)) ?? 0;
      peersUsing = peers?.cities.get(String(value)) ?? 0;
      break;
    }
    case 'hour': {
      value = ctx.hour;
      first = (ctx.account?.hourDays[ctx.hour] ?? 0) === 0;
      // For hours: share of the peer group's active hours that fall in this hour.
      const h = peers ? peers.hours[ctx.hour] ?? 0 : 0;
      peersUsing = h;
      company = ctx.site ? ctx.site.hours[ctx.hour] ?? 0 : 0;
      return {
        dimension: dim,
        value,
        first_seen_for_account: first,
        peers_using: Math.round(h),
        peer_group_size: groupSize,
        uncommon_among_peers: peers ? h < share * Math.max(1, peers.hoursTotal) : true,
        company_accounts_using: Math.round(company),
        uncommon_company_wide: ctx.site ? company < share * Math.max(1, ctx.site.hoursTotal) : true,
        baseline_window_days: env.config.baseline.window_days,
      };
    }
    case 'app_hash':
      value = '';
      break;
  }
  return {
    dimension: dim,
    value,
    first_seen_for_account: first,
    peers_using: peersUsing,
    peer_group_size: groupSize,
    uncommon_among_peers: peersUsing < Math.max(1, share * groupSize),
    company_accounts_using: company,
    uncommon_company_wide: company < Math.max(2, share * totalAccounts),
    baseline_window_days: env.config.baseline.window_days,
  };
}

/** "05:00–06:00 local" */
export const hourLabel = (h: number): string => `${String(h).padStart(2, '0')}:00–${String((h + 1) % 24).padStart(2, '0')}:00 local`;
