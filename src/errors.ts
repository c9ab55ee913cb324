/**
 * Stable error codes, mapped to HTTP exactly once. Adding a code without a status fails the
 * type check, so no error ever reaches a client unmapped.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  validation_failed: 400,
  invalid_json: 400,
  unknown_field: 400,
  /** A waybill, ticket or case that is no identifier (free text, a phone or ID number): src/contracts/identifiers.ts. */
  bad_identifier: 400,
  /** A reveal named a ticket that is not an open ticket of the caller's on this waybill (attack review 9). */
  ticket_not_held: 400,
  /** A reveal named a case that does not back it (a role that works no cases, or not the case basis). */
  case_not_held: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  session_expired: 401,
  otp_required: 401,
  invalid_device_credential: 401,
  forbidden: 403,
  account_suspended: 403,
  step_up_required: 403,
  no_work_context: 403,
  field_not_allowed: 403,
  purpose_not_allowed: 403,
  role_not_permitted: 403,
  case_required: 403,
  quota_exceeded: 403,
  throttled: 403,
  /** A throttle response stands on the account: it reads, it changes nothing (attack review 10). */
  account_throttled: 403,
  producer_not_registered: 403,
  self_action: 403,
  approval_pending: 403,
  case_out_of_scope: 403,
  /** An approved case is closed by its opener or its approver only (attack review 9). */
  not_case_party: 403,
  not_found: 404,
  conflict: 409,
  head_refused: 409,
  audit_inconsistent: 409,
  /** A PUT would lower the response in force on an account: lift it first (DELETE, attack review 11). */
  lift_first: 409,
  /** A record changed outside Warden (its routing no longer matches its seal): refused, nothing decrypted. */
  record_integrity: 409,
  subject_erased: 410,
  payload_too_large: 413,
  unsupported_media_type: 415,
  login_throttled: 429,
  rate_limited: 429,
  device_limit: 429,
  internal: 500,
  audit_unavailable: 503,
  unavailable: 503,
  password_login_disabled: 403,
  /** Single sign-on: the provider's answer did not hold (state, code, token checks). */
  sso_failed: 401,
  /** Single sign-on: the provider signed the person in, but Warden does not let them in. */
  sso_refused: 403,
  sso_not_configured: 404,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/** An expected failure with a stable code. Messages must never contain PII or secrets. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: { fields?: FieldError[]; retryAfterSeconds?: number; [k: string]: unknown },
  ) {
    super(message);
    this.name = 'AppError';
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;
