// The issue screen's rules, checked in the page so the holder sees each problem at once. A convenience
// only: the server applies the same rules (host/bank/bank.ts validateMail / validatePassword, both
// built on host/identity.ts, which this file re-exports) and is the guard.
import type { BankRefusal } from "../host/refusals.js";

export { mailProblem, passwordProblem, SERVICE_ID_PATTERN as SERVICE_ID, USER_ID_PATTERN as USER_ID } from "../host/identity.js";

export const CODE = /^[0-9]{6,8}$/;

export { typedCode } from "../host/identity.js";

/**
 * A refusal from the bank's API as host/refusals.ts takes it. The answer's `attemptsLeft` and
 * `reason` are read when the error carries them (the server adds them to its answers); the mapping
 * to words is host/refusals.ts's alone.
 */
export function refusalOf(error: unknown): BankRefusal {
  const e = error as {
    code?: unknown;
    message?: unknown;
    messageJa?: unknown;
    attemptsLeft?: unknown;
    reason?: unknown;
    body?: { attemptsLeft?: unknown; reason?: unknown };
  };
  const attemptsLeft = e.attemptsLeft ?? e.body?.attemptsLeft;
  const reason = e.reason ?? e.body?.reason;
  return {
    code: typeof e.code === "string" ? e.code : "internal",
    message: typeof e.message === "string" ? e.message : String(error),
    ...(typeof e.messageJa === "string" ? { messageJa: e.messageJa } : {}),
    ...(typeof attemptsLeft === "number" ? { attemptsLeft } : {}),
    ...(typeof reason === "string" ? { reason } : {}),
  };
}
