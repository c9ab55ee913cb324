import type { Command } from 'commander';

export function registerEval(program: Command): void {
  program.command('eval').description('(under construction)').action(() => {
    throw Object.assign(new Error('eval is not built yet'), { exitCode: 2 });
  });
}
