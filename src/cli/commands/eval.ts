import type { Command } from 'commander';

interface EvalOptions {
  events: string;
  truth: string;
  alerts: string;
  json?: boolean;
  graceHours: string;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description("Score a detector's alerts against a simulation's ground truth: catches, minutes and records exposed before the first alert, false-alarm account-days")
    .requiredOption('--events <file>', 'the simulated events (.ndjson or .ndjson.gz)')
    .requiredOption('--truth <file>', 'the ground-truth file written by warden simulate --truth')
    .requiredOption('--alerts <file>', 'the alerts to score (.ndjson or .ndjson.gz, contract alert format)')
    .option('--json', 'machine-readable report')
    .option('--grace-hours <h>', 'how long after an attack ends an alert still counts as catching it', '24')
    .action(async (o: EvalOptions) => {
      const grace = Number(o.graceHours);
      if (!Number.isFinite(grace) || grace < 0) throw Object.assign(new Error('--grace-hours must be a non-negative number'), { exitCode: 2 });
      const { formatReport } = await import('../../eval/eval.js');
      const { evaluateFiles } = await import('../../eval/io.js');
      const report = await evaluateFiles({ events: o.events, truth: o.truth, alerts: o.alerts }, { graceHours: grace });
      process.stdout.write(o.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    });
}
