/**
 * Where the master key comes from: WARDEN_MASTER_KEY, a key file, or — for a first start on a
 * developer machine only — a generated dev key next to the data, announced loudly.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from '../config/config.js';
import type { Logger } from '../ops/logger.js';
import { generateKey, parseMasterKey } from './crypto.js';
import { masterKeyFrom, type MasterKey } from './keyring.js';

export function resolveMasterKeys(config: Pick<Config, 'masterKey' | 'masterKeyFile' | 'previousMasterKey' | 'dataDir'>, logger: Logger): MasterKey[] {
  const keys: MasterKey[] = [];
  if (config.masterKey) {
    keys.push(masterKeyFrom(parseNamed(config.masterKey, 'WARDEN_MASTER_KEY')));
  } else if (config.masterKeyFile) {
    keys.push(masterKeyFrom(parseNamed(readFileSync(config.masterKeyFile, 'utf8').trim(), `master key file ${config.masterKeyFile}`)));
  } else {
    const dir = resolve(config.dataDir);
    const devKeyPath = join(dir, 'dev-master.key');
    if (!existsSync(devKeyPath)) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(devKeyPath, generateKey().toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    logger.warn(
      { keyFile: devKeyPath },
      '!!! USING A GENERATED DEVELOPMENT MASTER KEY stored beside the data. Anyone who can read the data directory can decrypt it. Set WARDEN_MASTER_KEY or WARDEN_MASTER_KEY_FILE in production. !!!',
    );
    keys.push(masterKeyFrom(parseNamed(readFileSync(devKeyPath, 'utf8').trim(), devKeyPath)));
  }
  if (config.previousMasterKey) keys.push(masterKeyFrom(parseNamed(config.previousMasterKey, 'WARDEN_MASTER_KEY_PREVIOUS')));
  return keys;
}

function parseNamed(value: string, source: string): Buffer {
  try {
    return parseMasterKey(value);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
}
