/**
 * The customer data behind a waybill number: who sends, who receives, where, and (for most
 * senders) the registered ID number. Derived from the seed and the number alone, so a live driver
 * can ask for any parcel's PII without the simulator storing millions of records.
 */
import { parcelRoute } from './route.js';
import { type Address, type Sender, type Party, address, idNumber, landline, mobileNumber } from './pii.js';
import { Rng } from './rng.js';
import type { Site, World } from './world.js';

export interface ParcelPii {
  waybill: string;
  origin_site: string;
  dest_site: string;
  dest_city: string;
  sender: Sender;
  recipient: Party;
}

/** Parses `PREFIX 7 BBBB SSSSSSSS` back to the origin outlet and sequence number. */
export function parseWaybill(w: World, waybill: string): { origin: Site; seq: number } | undefined {
  const prefix = w.params.carrierPrefix;
  if (!waybill.startsWith(prefix) || waybill.length !== prefix.length + 13 || waybill[prefix.length] !== '7') return undefined;
  const block = Number(waybill.slice(prefix.length + 1, prefix.length + 5));
  const seq = Number(waybill.slice(prefix.length + 5));
  const origin = w.outlets[block - 3000];
  if (!origin || !Number.isInteger(seq)) return undefined;
  return { origin, seq };
}

function siteAddress(r: Rng, site: Site, route: number, business: boolean): Address {
  const district = site.district ?? site.city.div.districts[0]!;
  const township = district.townships[route % district.townships.length];
  return address(r, { province: site.city.div.province, city: site.city.div.city, district, township }, business);
}

export function parcelPii(w: World, waybill: string): ParcelPii | undefined {
  const parsed = parseWaybill(w, waybill);
  if (!parsed) return undefined;
  const route = parcelRoute(w, parsed.origin, parsed.seq);
  const r = Rng.derive(w.seed, 'pii', parsed.origin.index, parsed.seq);
  const business = r.chance(0.12);
  const sName = w.names.draw(r);
  const sender: Sender = {
    name: sName.name,
    phone: business && r.chance(0.6) ? landline(r, route.origin.city.def.tel) : mobileNumber(r),
    address: siteAddress(r, route.origin, route.originRoute, business),
  };
  if (!business && r.chance(0.7)) {
    sender.id_number = idNumber(r, { male: sName.male, provinceCode: route.origin.city.def.code.slice(0, 2) });
  }
  const rName = w.names.draw(r);
  const recipient: Party = { name: rName.name, phone: mobileNumber(r), address: siteAddress(r, route.dest, route.destRoute, false) };
  return {
    waybill: route.waybill,
    origin_site: route.origin.code,
    dest_site: route.dest.code,
    dest_city: route.dest.city.def.en,
    sender,
    recipient,
  };
}
