import type { Command } from 'commander';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { SimAction } from '../../simulate/index.js';

interface DemoOptions {
  data?: string;
  port?: number;
  speed: number;
  seed: number;
  preset: string;
  leadMinutes: number;
  quiet?: boolean;
}

const iso = (t: number) => new Date(t + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ') + ' CST';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('Run a simulated courier company live through the real gateway, attacks included, and watch Warden catch them (what `npm start` runs)')
    .option('--data <dir>', 'embedded store directory (default: a fresh temporary one)')
    .option('--port <port>', 'API port', (v) => Number(v), 8080)
    .option('--speed <n>', 'simulated seconds per real second (60 = one simulated hour per minute)', (v) => Number(v), 60)
    .option('--seed <n>', 'simulation seed', (v) => Number(v), 1)
    .option('--preset <name>', 'simulation size preset (tiny, small, default, large)', 'tiny')
    .option('--lead-minutes <n>', 'simulated minutes of live traffic before the first attack', (v) => Number(v), 45)
    .option('--quiet', 'logs only, no live terminal view')
    .action(async (o: DemoOptions) => {
      if (!(o.speed > 0)) throw Object.assign(new Error('--speed must be a positive number'), { exitCode: 2 });
      const { default: pino } = await import('pino');
      const { loadConfig } = await import('../../config/config.js');
      const { createWarden } = await import('../../warden.js');
      const { createLogger } = await import('../../ops/logger.js');
      const { actions, createSimulation, resolveParams } = await import('../../simulate/index.js');
      const { createActionPlayer, createCompany, createDemoClock, httpClient } = await import('../../demo/driver.js');
      const dataDir = o.data ? resolve(o.data) : mkdtempSync(join(tmpdir(), 'warden-demo-'));
      const adminToken = randomBytes(24).toString('base64url');
      // Sessions live on the demo clock (60× by default): the longest lifetime keeps the console's
      // analyst signed in for hours of real time rather than minutes.
      const config = loadConfig({ dataDir, port: o.port, adminToken, trustProxy: '127.0.0.1,::1', logLevel: 'info', sessionTtlMinutes: 7 * 24 * 60 });
      const run = createSimulation(resolveParams({ seed: o.seed }, o.preset));
      const world = run.world;
      const firstAttack = firstAttackTime(actions(run));
      const liveStart = (firstAttack ?? world.t0 + 86_400_000) - o.leadMinutes * 60_000;
      const clock = createDemoClock(world.t0 - 3_600_000);
      // The terminal view is the demo's own lines; the server's log goes to a file beside the data
      // (or to stdout with --quiet, where there is no terminal view to keep clean).
      const logFile = join(dataDir, 'warden.log');
      const logger = createLogger({ level: config.logLevel, ...(o.quiet ? {} : { destination: pino.destination({ dest: logFile, mkdir: true, sync: true }) }) });
      const warden = await createWarden(config, { clock, logger });
      const url = await warden.listen();
      const http = httpClient(url);
      const { serviceToken, mfaSecrets, consoleAnalyst: analyst } = await createCompany(http, adminToken, world);
      const say = (line: string) => (o.quiet ? logger.info(line) : process.stdout.write(line + '\n'));
      say(
        [
          '',
          '  Warden demo — a simulated courier company, played through the real gateway',
          `  console      ${url}/`,
          `  analyst      ${analyst.id} / ${analyst.password}${analyst.totpSecret ? `   one-time codes: TOTP secret ${analyst.totpSecret}` : ''}`,
          `  API          ${url}/api/v1      docs ${url}/docs      health ${url}/healthz`,
          `  admin token  ${adminToken}`,
          o.quiet ? '' : `  server log   ${logFile}`,
          `  world        ${world.sites.length} sites, ${world.accounts.length} accounts, seed ${o.seed}, data in ${dataDir}`,
          `  clock        history until ${iso(liveStart)} replayed fast, then ${o.speed}× real time; first attack at ${firstAttack ? iso(firstAttack) : 'none'}`,
          '  watch for    alerts (leased accounts, harvesting, enumeration, infected scanners, rings) and refused reveals',
          '',
        ].filter(Boolean).join('\n'),
      );

      const player = createActionPlayer(http, world, serviceToken, mfaSecrets);
      let lastAlert = new Date(0).toISOString();
      const seen = new Set<string>();
      let lastActions = 0;
      let lastTick = Date.now();
      const showAlerts = async () => {
        if (!warden.watch) return;
        const fresh = await warden.watch.listAlerts({ since: lastAlert, minSeverity: 'medium', limit: 50 });
        for (const a of fresh.reverse()) {
          if (seen.has(a.id)) continue;
          seen.add(a.id);
          lastAlert = a.ts > lastAlert ? a.ts : lastAlert;
          say(`  ALERT ${a.severity.toUpperCase().padEnd(8)} ${String(a.account ?? a.device).padEnd(14)} ${a.detector.padEnd(16)} ${a.summary}`);
        }
      };
      const status = setInterval(() => {
        void showAlerts().catch((err: unknown) => logger.error({ err: String(err) }, 'alert poll failed'));
        if (o.quiet) return;
        const s = player.stats;
        const now = Date.now();
        const rate = ((s.actions - lastActions) * 1000) / Math.max(1, now - lastTick);
        lastActions = s.actions;
        lastTick = now;
        process.stdout.write(
          `  [${iso(clock.now())}] ${clock.live() ? 'live' : 'history'}  ${rate.toFixed(0)} events/s  reveals allowed ${s.revealsAllowed}  refused ${s.revealsRefused} ${JSON.stringify(s.refusedByCode)}  alerts ${seen.size}\n`,
        );
      }, 2000);
      status.unref();

      let stopping = false;
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        clearInterval(status);
        await warden.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());

      for (const a of actions(run)) {
        if (stopping) return;
        if (a.t < liveStart) {
          clock.follow(a.t);
        } else {
          if (!clock.live()) {
            clock.goLive(liveStart, o.speed);
            say(`  — live from ${iso(liveStart)} —`);
          }
          const wait = (a.t - clock.now()) / o.speed;
          if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, 60_000)));
        }
        try {
          await player.play(a);
        } catch (err) {
          player.stats.errors++;
          logger.error({ err: String(err) }, 'demo action failed');
        }
      }
      await showAlerts();
      say(`  simulation finished: ${player.stats.actions} actions, ${player.stats.requests} requests; the API stays up — Ctrl-C to stop`);
    });
}

function firstAttackTime(played: Iterable<SimAction>): number | undefined {
  for (const a of played) if (a.tag > 0) return a.t;
  return undefined;
}
