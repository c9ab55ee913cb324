/** Look-alike `new_phone`: couriers switch to a new phone or PDA (new device id, MFA at first login). */
import { newDevice } from '../world.js';
import type { ScenarioModule } from './types.js';

export const newPhone: ScenarioModule = {
  key: 'new_phone',
  kind: 'lookalike',
  label: 'new_phone',
  plan(ctx) {
    const c = ctx.w.params.lookalikes.new_phone;
    if (!c.enabled) return;
    const r = ctx.rng('new_phone');
    const people = ctx.regulars('courier', r).slice(0, c.count).map(ctx.take);
    const devices: string[] = [];
    for (const a of people) {
      const old = a.devices[0]!;
      const dev = newDevice(r, r.chance(0.5) ? 'phone' : old.kind, 'courier', c.day);
      a.devices.push(dev);
      devices.push(dev.id);
    }
    if (people.length === 0) return;
    ctx.add({ description: `${people.length} couriers switch to a new phone or PDA`, accounts: people.map((a) => a.id), devices, window: ctx.windowOf(c.day, 3), params: { ...c } });
  },
};
