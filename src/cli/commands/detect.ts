import { createWriteStream, writeFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import type { DetectConfig } from '../../detect/config.js';

const usage = (message: string): Error => Object.assign(new Error(message), { exitCode: 2 });

/** `warden detect`: replay contract NDJSON through the detection engine and write alerts. */
export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('Replay activity events (NDJSON or .ndjson.gz; - for stdin) through the detection engine and write alerts as NDJSON')
    .addOption(new Option('--in <file>', 'input events file, .ndjson or .ndjson.gz, or - for stdin').makeOptionMandatory())
    .option('--out <file>', 'where alerts go (NDJSON), - for stdout', '-')
    .option('--config <file>', 'detection config (YAML or JSON) merged over the defaults')
    .option('--summary-json <file>', 'also write the run summary as JSON')
    .option('--print-config', 'print the effective config as JSON and exit')
    .option('--quiet', 'no summary on stderr')
    .exitOverride((err) => {
      // Commander already printed its message; usage errors exit 2, help/version exit 0.
      process.exit(err.exitCode === 0 ? 0 : 2);
    })
    .action(async (opts: { in: string; out: string; config?: string; summaryJson?: string; printConfig?: boolean; quiet?: boolean }) => {
      const { ConfigError, DEFAULT_CONFIG, loadConfigFile, resolveConfig } = await import('../../detect/config.js');
      let config: DetectConfig;
      try {
        config = opts.config ? loadConfigFile(opts.config) : resolveConfig({});
      } catch (err) {
        if (err instanceof ConfigError) throw usage(err.message);
        throw err;
      }
      if (opts.printConfig) {
        process.stdout.write(`${JSON.stringify(config ?? DEFAULT_CONFIG, null, 2)}\n`);
        return;
      }
      const { formatSummary, InputError, openInput, replay } = await import('../../detect/replay.js');
      let input: AsyncIterable<Buffer>;
      try {
        input = await openInput(opts.in);
      } catch (err) {
        if (err instanceof InputError) throw usage(err.message);
        throw err;
      }
      let output: Writable;
      if (opts.out === '-') output = process.stdout;
      else {
        output = createWriteStream(opts.out);
        await new Promise<void>((resolve, reject) => {
          output.once('open', () => resolve());
          output.once('error', (e) => reject(usage(`${opts.out}: cannot write (${(e as NodeJS.ErrnoException).code ?? e.message})`)));
        });
      }
      const { createDetectionEngine } = await import('../../detect/engine.js');
      const engine = createDetectionEngine(config);
      let summary;
      try {
        summary = await replay({ engine, input, output });
      } catch (err) {
        if (err instanceof InputError) throw usage(err.message);
        throw err;
      }
      if (output !== process.stdout) await new Promise<void>((resolve) => output.end(resolve));
      if (!opts.quiet) process.stderr.write(`${formatSummary(summary)}\n`);
      if (opts.summaryJson) writeFileSync(opts.summaryJson, `${JSON.stringify(summary, null, 2)}\n`);
    });
}
