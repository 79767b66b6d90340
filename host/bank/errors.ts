// The bank's refusals: one stable code per reason (for programs and every front end), a message a
// person can act on, the same in Japanese where the customer sees it (host/bank/notices.ts), and the
// numbers a front end words itself: attempts left before a lock or a void issue, seconds to wait.

export const BANK_ERROR_CODES = [
  // issue: one code per rule of the issue screen
  "mail-length", // 4-64 characters
  "mail-characters", // half-width (printable ASCII 0x21-0x7e)
  "mail-format", // one '@' with something on both sides
  "mail-mismatch", // confirmation differs
  "password-length", // 4-8 characters
  "password-characters", // letters and digits only
  "password-mismatch", // confirmation differs
  "otp-parameters", // algorithm, digits, period or label the token cannot take
  "issue-numbers-used", // the customer has had 999 issues: the User ID has no room for another
  // activation (docs/activation.md, "Rules")
  "malformed", // wrong length, version or field form
  "unknown", // no such issue / token
  "expired", // the issue is older than its lifetime
  "issue-void", // too many unconfirmed activations or wrong first codes, or a newer issue replaced it: issue again
  "replayed", // other bytes under an activation session id already answered / code for a step at or before the last accepted one
  "wrong-confirmation", // the token's confirmation (message 3) does not match its session (damaged, or not from the token)
  // confirm, verify, resync
  "not-activated", // confirm before any token registered (sent its confirmation) for the issue
  "already-confirmed", // confirm of an issue whose token is already active
  "invalid-code", // not the right number of digits (not counted as a guess)
  "wrong-code", // no match in the window (counted)
  "throttled", // too soon after a failure: wait retryAfterSeconds (not counted)
  "locked", // active token locked after consecutive failures: an administrator unlocks
  "suspended", // an administrator suspended the token (reported missing): resume to use it again
  "revoked", // the token was revoked (lost or stolen): final, issue a new token
  "token-expired", // the token is past its expiry date: issue a new token
  "state", // a lifecycle change that does not apply to the token's state (resume an active token, ...)
  // customers' logins (rooms/customers.ts)
  "login-id-form", // ログインID: 6-16 half-width letters and digits
  "login-password-form", // ログインパスワード: 8-32 half-width letters, digits and symbols, a letter and a digit among them
  "login-password-mismatch", // confirmation differs
  "login-taken", // another customer has this ログインID, or the customer already has a login
  "login-failed", // wrong ログインID or ログインパスワード (counted when the ID exists)
  "login-locked", // too many wrong login passwords: the help desk unlocks (bank customer unlock)
  "code-required", // the customer has a token: the login needs its one-time password too
  "login-ticket", // a login ticket that is not the bank's or has expired: log in again
  // operations
  "master-key", // missing, malformed or wrong master key
  "settings", // a bank setting with the wrong form
  "pskc", // a PSKC file that cannot be read or written as asked
] as const;

export type BankErrorCode = (typeof BANK_ERROR_CODES)[number];

export interface BankErrorDetails {
  /** Wrong attempts still allowed before the token locks or the issue is void. */
  attemptsLeft?: number;
  /** Seconds before the next check is allowed (throttled). */
  retryAfterSeconds?: number;
  /** The message in Japanese, for the customer's screen. */
  ja?: string;
  /**
   * A wrong login code that is one of the token's codes in the wider resync window (counted all the
   * same): the token's clock may have drifted, and its next code with this one can resynchronise it.
   */
  inResyncWindow?: boolean;
}

export class BankError extends Error {
  override name = "BankError";

  constructor(
    readonly code: BankErrorCode,
    message: string,
    readonly details: BankErrorDetails = {},
  ) {
    super(message);
  }

  get attemptsLeft(): number | undefined {
    return this.details.attemptsLeft;
  }

  get ja(): string | undefined {
    return this.details.ja;
  }
}
