import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
// The names and presets the help text lists; the generator itself loads when the verb runs.
import { ATTACK_NAMES, LOOKALIKE_NAMES, PRESETS, resolveParams } from '../../simulate/params.js';
import type { DeepPartial, SimParams } from '../../simulate/index.js';

interface SimulateOptions {
  out: string;
  truth?: string;
  preset: string;
  params?: string;
  seed?: string;
  days?: string;
  start?: string;
  cities?: string;
  outlets?: string;
  couriers?: string;
  parcels?: string;
  attacks?: string;
  lookalikes?: string;
  noSurge?: boolean;
  surge?: boolean;
  quiet?: boolean;
}

const usage = (message: string) => Object.assign(new Error(message), { exitCode: 2 });

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw usage(`--${name} must be a non-negative integer (got "${v}")`);
  return Number(v);
}

function only(list: string | undefined, known: readonly string[], what: string): Record<string, { enabled: boolean }> | undefined {
  if (list === undefined) return undefined;
  const wanted = list === 'none' ? [] : list === 'all' ? [...known] : list.split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of wanted) if (!known.includes(w)) throw usage(`unknown ${what} "${w}" (known: ${known.join(', ')}, or all/none)`);
  return Object.fromEntries(known.filter((k) => k !== 'surge').map((k) => [k, { enabled: wanted.includes(k) }]));
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('Generate a simulated courier network with labelled insider attacks: contract NDJSON events plus a ground-truth file')
    .option('--out <file>', 'events output (.ndjson, .ndjson.gz, or - for stdout)', '-')
    .option('--truth <file>', 'ground-truth JSON output (see docs/truth-format.md)')
    .option('--preset <name>', `size preset: ${Object.keys(PRESETS).join(', ')}`, 'default')
    .option('--params <file>', 'JSON or YAML file with any simulation parameters (docs/simulate.md)')
    .option('--seed <n>', 'random seed (same seed, same bytes)')
    .option('--days <n>', 'number of days')
    .option('--start <date>', 'first day, local date YYYY-MM-DD')
    .option('--cities <n>', 'number of cities')
    .option('--outlets <n>', 'outlets per city')
    .option('--couriers <n>', 'couriers per outlet')
    .option('--parcels <n>', 'deliveries per courier per ordinary day')
    .option('--attacks <list>', `attacks to include: all, none, or a comma list of ${ATTACK_NAMES.join(', ')}`)
    .option('--lookalikes <list>', `look-alikes to include: all, none, or a comma list of ${LOOKALIKE_NAMES.filter((n) => n !== 'surge').join(', ')}`)
    .option('--no-surge', 'leave out the 11.11 shopping-festival surge')
    .option('--quiet', 'no progress on stderr')
    .action(async (o: SimulateOptions) => {
      let fromFile: DeepPartial<SimParams> = {};
      if (o.params) {
        let text: string;
        try {
          text = readFileSync(o.params, 'utf8');
        } catch (err) {
          throw usage(`cannot read --params ${o.params}: ${(err as Error).message}`);
        }
        const { parse: parseYaml } = await import('yaml');
        try {
          fromFile = (o.params.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as DeepPartial<SimParams>;
        } catch (err) {
          throw usage(`--params ${o.params} is not valid JSON/YAML: ${(err as Error).message}`);
        }
      }
      const cli: DeepPartial<SimParams> = {
        seed: int(o.seed, 'seed'),
        days: int(o.days, 'days'),
        start: o.start,
        cities: int(o.cities, 'cities'),
        outletsPerCity: int(o.outlets, 'outlets'),
        parcelsPerCourier: int(o.parcels, 'parcels'),
      };
      const couriers = int(o.couriers, 'couriers');
      if (couriers !== undefined) cli.staff = { courier: couriers };
      if (o.surge === false) cli.surge = { enabled: false };
      const merged: DeepPartial<SimParams> = {
        ...fromFile,
        ...Object.fromEntries(Object.entries(cli).filter(([, v]) => v !== undefined)),
        staff: { ...fromFile.staff, ...cli.staff },
        surge: { ...fromFile.surge, ...cli.surge },
      };
      const attackSel = only(o.attacks, ATTACK_NAMES, 'attack');
      const lookSel = only(o.lookalikes, LOOKALIKE_NAMES, 'look-alike');
      if (attackSel) merged.attacks = { ...(fromFile.attacks ?? {}), ...attackSel } as DeepPartial<SimParams['attacks']>;
      if (lookSel) merged.lookalikes = { ...(fromFile.lookalikes ?? {}), ...lookSel } as DeepPartial<SimParams['lookalikes']>;
      let params: SimParams;
      try {
        params = resolveParams(merged, o.preset);
      } catch (err) {
        throw usage((err as Error).message);
      }
      if (o.out === '-') {
        // a reader that stops early (| head) is not an error
        process.stdout.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'EPIPE') process.exit(0);
          throw err;
        });
      }
      const { createSimulation, writeSimulation } = await import('../../simulate/index.js');
      const run = createSimulation(params);
      const log = (s: string) => {
        if (!o.quiet) process.stderr.write(s);
      };
      log(`warden simulate: seed ${params.seed}, ${params.days} days from ${params.start}, ${run.world.cities.length} cities, ${run.world.outlets.length} outlets, ${run.world.accounts.length} accounts\n`);
      const { summary, truth } = await writeSimulation(run, {
        out: o.out,
        ...(o.truth ? { truth: o.truth } : {}),
        onDay: ({ date, events, totalEvents }) => log(`  ${date}: ${events} events (total ${totalEvents})\n`),
      });
      log(
        `wrote ${summary.events} events (${(summary.bytes / 1e6).toFixed(1)} MB) in ${summary.seconds.toFixed(2)} s: ` +
          `${Math.round(summary.eventsPerSecond)} events/s, peak RSS ${summary.peakRssMB} MB\n` +
          `${truth.attacks.length} attacks (${truth.attacks.map((a) => `${a.id} ${a.scenario}`).join(', ')}), ${truth.lookalikes.length} look-alikes` +
          (o.truth ? `; truth in ${o.truth}` : '') +
          (truth.skipped.length > 0 ? `\nskipped: ${truth.skipped.map((s) => `${s.scenario} (${s.reason})`).join(', ')}` : '') +
          '\n',
      );
    });
}
