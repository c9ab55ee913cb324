import type { Command } from 'commander';

const usage = (message: string): Error => Object.assign(new Error(message), { exitCode: 2 });

/** `warden watch`: a detection worker on one partition of the NATS JetStream event stream. */
export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('Run detection on one partition of the JetStream event stream (WARDEN_BUS=nats://…): alerts stored, responses applied on the shared store')
    .requiredOption('--partition <p>', 'partition to consume, 0 … WARDEN_BUS_PARTITIONS − 1', (v) => Number(v))
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://WARDEN_HOST:<port>/metrics', (v) => Number(v))
    .option('--batch <n>', 'events per batch (one alert store, one acknowledgement)', (v) => Number(v), 256)
    .action(async (opts: { partition: number; metricsPort?: number; batch: number }) => {
      const { loadConfig } = await import('../../config/config.js');
      const config = loadConfig();
      if (!config.bus) throw usage('warden watch needs WARDEN_BUS=nats://host:port');
      if (!Number.isInteger(opts.partition) || opts.partition < 0 || opts.partition >= config.busPartitions) {
        throw usage(`--partition must be an integer from 0 to ${config.busPartitions - 1} (WARDEN_BUS_PARTITIONS=${config.busPartitions})`);
      }
      if (!Number.isInteger(opts.batch) || opts.batch < 1 || opts.batch > 10_000) throw usage('--batch must be an integer from 1 to 10000');
      const { startWatchWorker } = await import('../../watch/worker.js');
      const worker = await startWatchWorker(config, { partition: opts.partition, metricsPort: opts.metricsPort, batch: opts.batch });
      const stop = async () => {
        const timer = setTimeout(() => process.exit(1), 30_000);
        timer.unref();
        await worker.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
