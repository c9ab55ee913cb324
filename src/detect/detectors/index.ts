/** The built-in detectors, in evaluation order. Names are stable: alerts and config use them. */
import type { DetectorFactory } from '../types.js';
import { createCredentialDetector } from './credential.js';
import { createDevicePostureDetector } from './device-posture.js';
import { createEnumerationDetector } from './enumeration.js';
import { createSearchHarvestDetector, createTrickleDetector, createWorkHarvestDetector } from './evidence.js';
import { createHarvestingDetector } from './harvesting.js';
import { createPrivilegedBulkDetector } from './privileged-bulk.js';
import { createRingsDetector } from './rings.js';
import { createSharingDetector } from './sharing.js';
import { createTicketChurnDetector } from './ticket-churn.js';
import { createUnexplainedDetector } from './unexplained.js';

export const ALL_DETECTORS: readonly DetectorFactory[] = [
  createCredentialDetector,
  createSharingDetector,
  createUnexplainedDetector,
  createEnumerationDetector,
  createHarvestingDetector,
  createDevicePostureDetector,
  createRingsDetector,
  createPrivilegedBulkDetector,
  createWorkHarvestDetector,
  createSearchHarvestDetector,
  createTrickleDetector,
  createTicketChurnDetector,
];

export const DETECTOR_NAMES = [
  'credential',
  'sharing',
  'unexplained',
  'enumeration',
  'harvesting',
  'device_posture',
  'rings',
  'privileged_bulk',
  'work_harvest',
  'search_harvest',
  'trickle',
  'ticket_churn',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];
