/**
 * What a canary waybill holds: a realistic sender and recipient drawn with the simulator's own
 * generators (real surname frequencies, mainland mobile numbers, GB 11643 ID numbers with valid
 * check characters, addresses on real divisions), and a waybill number in a gap among real ones.
 *
 * Invariant: nothing in the record says "canary". Phones may come from a number range the company
 * controls (a call or SMS to one proves the data left); that range is configuration, not data.
 */
import { createHash, createHmac, randomInt } from 'node:crypto';
import { decryptField, encryptField } from '../vault/crypto.js';
import { OPERATING_CITIES, type CityDef } from '../simulate/data/cities.js';
import { NameGenerator, address, cityDivisions, formatAddress, idNumber, mobileNumber } from '../simulate/pii.js';
import { Rng } from '../simulate/rng.js';

export interface CanaryRecord {
  waybill: string;
  origin_site: string;
  dest_site: string;
  sender: { name: string; phone: string; address: string; id_number?: string };
  recipient: { name: string; phone: string; address: string };
}

/** A real waybill to sit next to (its number, origin and destination), or a site pair. */
export interface Neighbour {
  waybill: string | null;
  origin_site: string;
  dest_site: string;
  origin_city: string | null;
  dest_city: string | null;
}

let names: NameGenerator | undefined;

/**
 * How a canary's number is kept (attack review 9: `select waybill from trace_canaries` listed every
 * tripwire to the database owner): as a keyed blind index (`mac`, what the tripwire and every
 * lookup match) and sealed with the vault's field encryption (`sealed`, what the analysts' list
 * opens). Both keys derive from the keyring's blind-index key, which the store holds only wrapped
 * by the master key; neither is ever in the database.
 */
export interface CanaryKeys {
  mac: Buffer;
  seal: Buffer;
}

export function canaryKeys(blindIndexKey: Buffer): CanaryKeys {
  const derive = (purpose: string) => createHmac('sha256', blindIndexKey).update(`warden/trace/${purpose}/v1`).digest();
  return { mac: derive('canary-mac'), seal: derive('canary-seal') };
}

/** The canary's blind index: HMAC-SHA256 of the number, 16 bytes, hex. */
export const canaryMac = (keys: CanaryKeys, waybill: string): string => createHmac('sha256', keys.mac).update(waybill, 'utf8').digest().subarray(0, 16).toString('hex');

export const sealCanary = (keys: CanaryKeys, waybill: string, mac: string): Buffer => encryptField(keys.seal, waybill, `warden/trace/canary/${mac}`);
export const openCanary = (keys: CanaryKeys, sealed: Uint8Array, mac: string): string => decryptField(keys.seal, Buffer.from(sealed), `warden/trace/canary/${mac}`);

/** What a planting's audit entry binds the planted set with: the digest of its sorted blind indexes (reconcile recomputes it from the rows). */
export const macsDigest = (macs: readonly string[]): string => createHash('sha256').update([...macs].sort().join('\n')).digest('hex');

/** A fresh, unpredictable generator (canaries must not be guessable from a seed in the repo). */
export const freshRng = (): Rng => new Rng(randomInt(2 ** 31), randomInt(2 ** 31), randomInt(2 ** 31));

/** The operating city a site's city names (Chinese or English), or any city. */
export function cityFor(city: string | null, rng: Rng): CityDef {
  const c = (city ?? '').trim();
  const found = c ? OPERATING_CITIES.find((d) => d.zh.startsWith(c) || c.startsWith(d.zh.replace(/市$/, '')) || d.en.toLowerCase() === c.toLowerCase()) : undefined;
  return found ?? rng.pick(OPERATING_CITIES);
}

const NUMBER = /^([A-Z]{0,4})(\d{10,20})$/;

/**
 * A waybill number that looks allocated in sequence among real ones, taken from a gap *below* a
 * real number (between it and the next lower real number known), never beyond the newest: numbers
 * above the newest are the ones upstream will issue next, numbers in gaps behind it mostly never
 * are (skipped, voided, or issued long ago). `known` are real numbers (any order); with `inside`,
 * the number stays inside their range (above the lowest too), or none is given. Without a real
 * number, the simulator's carrier format.
 */
export function neighbourNumber(real: string | null, rng: Rng, known: readonly string[] = [], inside = false): string | null {
  const m = real ? NUMBER.exec(real) : null;
  if (!m) return inside ? null : `SF7${3000 + rng.int(400)}${String(rng.int(1e8)).padStart(8, '0')}`;
  const [, prefix, digits] = m as unknown as [string, string, string];
  const value = BigInt(digits);
  let lower: bigint | null = null;
  for (const k of known) {
    const n = NUMBER.exec(k);
    if (!n || n[1] !== prefix || n[2]!.length !== digits.length) continue;
    const v = BigInt(n[2]!);
    if (v < value && (lower === null || v > lower)) lower = v;
  }
  if (lower === null && inside) return null;
  const floor = lower ?? (value > 5001n ? value - 5001n : 0n);
  const room = value - floor - 1n;
  if (room < 1n) return null;
  const pick = value - 1n - BigInt(rng.int(Number(room > 5000n ? 5000n : room)));
  return `${prefix}${pick.toString().padStart(digits.length, '0')}`;
}

/** A phone number: from the controlled range when given (prefix of 3–10 digits), else any mobile. */
export function canaryPhone(rng: Rng, range?: string | null): string {
  if (!range) return mobileNumber(rng);
  if (!/^1[3-9]\d{1,8}$/.test(range)) throw new Error(`canary phone range ${range} must be a mobile-number prefix of 3 to 10 digits`);
  let n = range;
  while (n.length < 11) n += String(rng.int(10));
  return n;
}

/** A canary record on a real route; `waybill` its number (see neighbourNumber). */
export function canaryRecord(rng: Rng, at: Neighbour, phoneRange: string | null | undefined, waybill: string): CanaryRecord {
  names ??= new NameGenerator();
  const from = cityFor(at.origin_city, rng);
  const to = cityFor(at.dest_city, rng);
  const partyAt = (city: CityDef) => {
    const div = cityDivisions(city);
    const district = rng.pick(div.districts);
    return formatAddress(address(rng, { province: div.province, city: div.city, district }));
  };
  const s = names.draw(rng);
  const r = names.draw(rng);
  const sender: CanaryRecord['sender'] = { name: s.name, phone: canaryPhone(rng, phoneRange), address: partyAt(from) };
  if (rng.chance(0.7)) sender.id_number = idNumber(rng, { male: s.male, provinceCode: from.code.slice(0, 2) });
  return {
    waybill,
    origin_site: at.origin_site,
    dest_site: at.dest_site,
    sender,
    recipient: { name: r.name, phone: canaryPhone(rng, phoneRange), address: partyAt(to) },
  };
}
