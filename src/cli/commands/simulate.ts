import type { Command } from 'commander';

export function registerSimulate(program: Command): void {
  program.command('simulate').description('(under construction)').action(() => {
    throw Object.assign(new Error('simulate is not built yet'), { exitCode: 2 });
  });
}
