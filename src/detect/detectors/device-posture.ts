/**
 * device_posture — a client build the fleet does not run (a tampered or trojaned app).
 *
 * The fleet's app hashes are learned from logins. Once the fleet is big enough to mean
 * something, a never-seen hash is *pending*: if `adoption_devices` devices pick it up within
 * `adoption_hours` it is a fleet update and never alerts. A pending hash alerts when its adoption
 * window closes unadopted (checked on that device's next login or reveal), or at once when a
 * device running it makes unexplained reveals. This state is fleet-wide (global).
 *
 * Invariant (attack review 3, H3): the fleet is the devices Warden's gateway itself enrolled.
 * Only logins with producer `warden` (the gateway's own trail, contract extension 1.1) count
 * toward the fleet's size and a build's adoption; another producer's logins (a legacy system's
 * token, which may invent accounts and devices) still set that device's build, so its device can
 * alert, but never make a build "known" nor the fleet bigger. An event with no producer at all
 * (a file given to `warden detect`, a simulated world: no provenance, the operator's own data)
 * counts as before; everything Warden stores or publishes carries its producer.
 *
 * Invariant (attack review 9): an analyst's verdict never makes a build known (one analyst's
 * false positive turned detection off for a trojaned build fleet-wide); a build is left out of
 * detection only by an `app_hash` exception, which needs a second analyst and ends within 90 days.
 */
import type { Detector, DetectorEnv, EventContext, Emit } from '../types.js';
import { DAY, HOUR } from '../util.js';

interface HashInfo {
  first: number;
  firstDevice: string;
  devices: Set<string>;
  known: boolean;
  lastSeen: number;
}
interface DeviceState {
  hash: string;
  unexplained: number;
  ids: string[];
  /** Counted in fleetDevices (seen logging in through the gateway). */
  fleet: boolean;
}

export const DEVICE_POSTURE = 'device_posture';
/** The producer of the gateway's own events (src/events/producer.ts WARDEN_PRODUCER). */
export const GATEWAY_PRODUCER = 'warden';
/** A login the gateway itself saw (or one without provenance: a file, a simulated world). */
export const fromGateway = (ev: { producer?: string }): boolean => ev.producer === undefined || ev.producer === GATEWAY_PRODUCER;

export function createDevicePostureDetector(env: DetectorEnv): Detector {
  const c = env.config.detectors.device_posture;
  const adoptionMs = c.adoption_hours * HOUR;
  const hashes = new Map<string, HashInfo>();
  let fleetDevices = 0;
  let updates = 0;

  function pendingVerdict(info: HashInfo, t: number): 'known' | 'pending' | 'rogue' {
    if (info.known) return 'known';
    // A small fleet (one city, two outlets) has only a handful of devices of a kind: a share of
    // the fleet (at least 3 devices) is an update too.
    const needed = Math.min(c.adoption_devices, Math.max(3, Math.ceil(c.adoption_share * fleetDevices)));
    if (info.devices.size >= needed && t - info.first <= adoptionMs) {
      info.known = true;
      updates++;
      return 'known';
    }
    return t - info.first > adoptionMs ? 'rogue' : 'pending';
  }

  function fire(ctx: EventContext, emit: Emit, hash: string, info: HashInfo, why: string, score: number, extra: Record<string, unknown>): void {
    const ev = ctx.event;
    const account = ev.type === 'waybill' ? undefined : ev.account;
    emit({
      account,
      device: ev.device,
      score,
      subject: hash,
      summary: `Device ${ev.device} runs app build ${hash.slice(0, 12)} that ${info.devices.size} of ${fleetDevices} fleet devices run (first seen ${Math.round((ctx.t - info.first) / HOUR)} h ago); ${why}.`,
      evidence: {
        event_ids: [ev.id],
        app_hash: hash,
        device: ev.device,
        devices_on_hash: info.devices.size,
        fleet_devices: fleetDevices,
        hash_first_seen: new Date(info.first).toISOString(),
        adoption_devices: c.adoption_devices,
        adoption_hours: c.adoption_hours,
        dimensions: [
          {
            dimension: 'app_hash',
            value: hash,
            first_seen_for_account: true,
            uncommon_among_peers: true,
            company_accounts_using: info.devices.size,
            uncommon_company_wide: true,
            baseline_window_days: env.config.baseline.window_days,
          },
        ],
        ...extra,
      },
    });
  }

  function onEvent(ctx: EventContext, emit: Emit): void {
    const ev = ctx.event;
    const dev = ctx.device;
    if (!dev) return;
    if (ev.type === 'login') {
      const hash = ev.app_hash;
      if (hash === undefined || ev.result !== 'success') return;
      let info = hashes.get(hash);
      if (!info) {
        const mature = fleetDevices >= c.min_fleet_devices;
        info = { first: ctx.t, firstDevice: dev.id, devices: new Set(), known: !mature, lastSeen: ctx.t };
        hashes.set(hash, info);
      }
      info.lastSeen = ctx.t;
      const prior = dev.slots[env.slot] as DeviceState | undefined;
      const gateway = fromGateway(ev);
      const fleet = gateway || (prior?.fleet ?? false);
      if (gateway && !prior?.fleet) fleetDevices++;
      if (gateway) info.devices.add(dev.id);
      if (dev.appHash !== hash || !prior) {
        dev.appHash = hash;
        dev.slots[env.slot] = { hash, unexplained: 0, ids: [], fleet } satisfies DeviceState;
      } else prior.fleet = fleet;
      if (env.isExcepted('app_hash', hash, ev.account, ctx.t) || env.isExcepted('device', dev.id, ev.account, ctx.t)) return;
      if (pendingVerdict(info, ctx.t) === 'rogue') {
        fire(ctx, emit, hash, info, `no fleet update adopted it within ${c.adoption_hours} h`, 60, {});
      }
      return;
    }
    // access: reveals from a device on a pending/rogue build
    const hash = dev.appHash;
    if (hash === undefined || ev.type !== 'access' || ev.action !== 'reveal') return;
    const info = hashes.get(hash);
    if (!info || info.known) return;
    const verdict = pendingVerdict(info, ctx.t);
    if (verdict === 'known') return;
    if (env.isExcepted('app_hash', hash, ev.account, ctx.t) || env.isExcepted('device', dev.id, ev.account, ctx.t)) return;
    const s = dev.slots[env.slot] as DeviceState | undefined;
    if (!s) return;
    if (ctx.explanation === 'none' || ctx.denied) {
      s.unexplained++;
      if (s.ids.length < 10) s.ids.push(ev.id);
    }
    if (verdict === 'rogue') {
      fire(ctx, emit, hash, info, `no fleet update adopted it within ${c.adoption_hours} h`, s.unexplained > 0 ? 75 : 60, {
        unexplained_reveals: s.unexplained,
        reveal_event_ids: [...s.ids],
      });
    } else if (s.unexplained >= c.unexplained_reveals) {
      fire(ctx, emit, hash, info, `and it made ${s.unexplained} reveals with no work behind them`, 80, {
        unexplained_reveals: s.unexplained,
        reveal_event_ids: [...s.ids],
      });
    }
  }

  function sweep(t: number): void {
    for (const [h, info] of hashes) {
      if (t - info.lastSeen > env.config.state.profile_ttl_days * DAY) hashes.delete(h);
      else if (info.known && info.devices.size > c.adoption_devices) info.devices.clear(); // only counts matter now
    }
  }

  return {
    name: DEVICE_POSTURE,
    scope: 'global',
    types: ['login', 'access'],
    onEvent,
    sweep,
    stats: () => ({ hashes: hashes.size, fleet_devices: fleetDevices, fleet_updates: updates }),
  };
}
