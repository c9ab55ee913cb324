import { Command } from 'commander';
import { registerCommands } from './commands/index.js';

const program = new Command();
program
  .name('warden')
  .description('Warden: keeps customers\' personal data from leaking out through a courier company\'s own staff')
  .version('0.1.0')
  .showHelpAfterError();
registerCommands(program);

// A verb whose work never settles (the event loop empties first) must not look like success:
// the process keeps this code unless the verb finishes or sets its own.
const UNSETTLED = 70;
process.exitCode = UNSETTLED;
program
  .parseAsync(process.argv)
  .then(() => {
    if (process.exitCode === UNSETTLED) process.exitCode = 0;
  })
  .catch((err: unknown) => {
    const exit = (err as { exitCode?: number }).exitCode;
    console.error(`warden: ${(err as Error).message}`);
    process.exit(typeof exit === 'number' ? exit : 1);
  });
