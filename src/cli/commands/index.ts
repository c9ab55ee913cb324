import type { Command } from 'commander';
import { registerDetect } from './detect.js';
import { registerSimulate } from './simulate.js';
import { registerEval } from './eval.js';

/** Each verb lives in its own file and declares only what it uses. */
export function registerCommands(program: Command): void {
  registerDetect(program);
  registerSimulate(program);
  registerEval(program);
}
