/** What the honest work (parcels, customer service, office) is generated with: the engine's parts. */
import type { SimAction } from './action.js';
import type { DayOutput } from './day-output.js';
import type { ParcelLedger } from './ledger.js';
import type { People } from './people.js';
import type { DayPlan } from './sim-types.js';
import type { Staffing } from './staffing.js';
import type { Volume } from './volume.js';
import type { World } from './world.js';

/** A scenario's hook on an account's assignments (after the assign action is pushed). */
export type AssignHook = (assign: SimAction, plan: DayPlan) => void;

export interface Work {
  readonly world: World;
  readonly out: DayOutput;
  readonly people: People;
  readonly staff: Staffing;
  readonly ledger: ParcelLedger;
  readonly volume: Volume;
  readonly assignHooks: ReadonlyMap<string, AssignHook>;
}
