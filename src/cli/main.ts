import { Command } from 'commander';
import { registerCommands } from './commands/index.js';

const program = new Command();
program
  .name('warden')
  .description('Warden: keeps customers\' personal data from leaking out through a courier company\'s own staff')
  .version('0.1.0')
  .showHelpAfterError();
registerCommands(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const exit = (err as { exitCode?: number }).exitCode;
  console.error(`warden: ${(err as Error).message}`);
  process.exit(typeof exit === 'number' ? exit : 1);
});
