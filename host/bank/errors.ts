// The bank's refusals: one stable code per reason (for programs) and a message a person can act on.

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
  // activation (docs/activation.md, "Rules")
  "malformed", // wrong length, version or field form
  "unknown", // no such pending issue / active token
  "expired", // the issue is older than its lifetime
  "locked", // issue void, or active token locked after consecutive failures
  "replayed", // other bytes under an activation session id already answered / code for a step at or before the last accepted one
  "wrong-confirmation", // the token's confirmation (message 3) does not match its session
  // confirm, verify, resync
  "not-activated", // confirm before any token registered (sent its confirmation) for the issue
  "invalid-code", // not the right number of digits (not counted as a guess)
  "wrong-code", // no match in the window (counted)
  // operations
  "master-key", // missing, malformed or wrong master key
] as const;

export type BankErrorCode = (typeof BANK_ERROR_CODES)[number];

export class BankError extends Error {
  override name = "BankError";

  constructor(
    readonly code: BankErrorCode,
    message: string,
  ) {
    super(message);
  }
}
