/** The engine's shared shapes: sessions, a person's working day, a parcel in flight, a generated day. */
import type { SimAction } from './action.js';
import type { DayArena } from './arena.js';
import type { Account, Device, Site } from './world.js';

export interface Session {
  id: string;
  start: number;
  end: number;
  device: Device;
  ip: string;
  city: string;
}

export interface DayPlan {
  account: Account;
  day: number;
  start: number;
  end: number;
  sessions: Session[];
  /** the login actions of the day, in session order */
  logins: SimAction[];
}

export interface Parcel {
  waybill: string;
  origin: Site;
  dest: Site;
  originRoute: number;
  destRoute: number;
  /** hash used to spread work deterministically */
  h: number;
  /** recipient collects at the outlet counter instead of a door delivery */
  counter: boolean;
  /** delivery attempts so far */
  attempts: number;
}

export interface SimDay {
  day: number;
  /** local (CST) date */
  date: string;
  actions: SimAction[];
}

/** A day as serialized bytes (the file writer's fast path). */
export interface SimDayBytes {
  day: number;
  date: string;
  arena: DayArena;
}

/** Who works at an outlet on a day: route owners, couriers present, temporaries, clerks' plans. */
export interface OutletDay {
  owner: (Account | undefined)[];
  present: Account[];
  temps: Account[];
  staff: DayPlan[];
}
