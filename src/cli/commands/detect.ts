import type { Command } from 'commander';

export function registerDetect(program: Command): void {
  program.command('detect').description('(under construction)').action(() => {
    throw Object.assign(new Error('detect is not built yet'), { exitCode: 2 });
  });
}
