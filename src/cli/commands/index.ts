import type { Command } from 'commander';
import { registerServe } from './serve.js';
import { registerAudit } from './audit.js';
import { registerKeys } from './keys.js';
import { registerDetect } from './detect.js';
import { registerSimulate } from './simulate.js';
import { registerEval } from './eval.js';
import { registerDemo } from './demo.js';
import { registerWitness } from './witness.js';
import { registerWatch } from './watch.js';
import { registerTrace } from './trace.js';
import { registerPipl } from './pipl.js';

/** Each verb lives in its own file and declares only what it uses. */
export function registerCommands(program: Command): void {
  registerServe(program);
  registerAudit(program);
  registerKeys(program);
  registerDetect(program);
  registerSimulate(program);
  registerEval(program);
  registerDemo(program);
  registerWitness(program);
  registerWatch(program);
  registerTrace(program);
  registerPipl(program);
}
