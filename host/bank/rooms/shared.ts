// What the rooms share (host/bank/README.md, "The rooms"): the context each is built from, the
// outcome of a store transaction that must commit its counters before a refusal is thrown, and the
// refusals more than one room makes (an issue that can no longer be activated or confirmed, a code of
// the wrong form). A room imports this file and the bank's lower modules, never another room.
import { createHash } from "node:crypto";
import type { BankConfig, CodeChecker } from "../config.js";
import type { MasterKey } from "../crypto.js";
import { BankError, type BankErrorCode, type BankErrorDetails } from "../errors.js";
import { type Notice, NOTICES } from "../notices.js";
import type { OtpParameters } from "../protocol.js";
import type { BankStore, IssueRow, StoreTx, TokenRow } from "../store.js";

/** Everything a room may be given; each room's constructor names the part it needs. */
export interface BankContext {
  readonly store: BankStore;
  /** Seals and opens seeds, activation passwords and activation runs (AES-256-GCM, AAD = the row). */
  readonly masterKey: MasterKey;
  readonly config: Readonly<BankConfig>;
  /** Unix seconds now. */
  readonly now: () => number;
  /** Cryptographically secure random bytes. */
  readonly random: (length: number) => Uint8Array;
  readonly checkCode: CodeChecker;
  /** Who acts when a call names no one (the audit trail's actor). */
  readonly actor: string;
}

/** What rooms read of the bank's settings (the settings room owns them). */
export interface SettingsView {
  readonly serviceId: string;
  readonly mailDomain: string;
}

/** Appends one event to the audit trail inside the transaction that does what it records. */
export interface AuditWriter {
  append(
    tx: StoreTx,
    at: number,
    kind: string,
    serviceId: string | null,
    userId: string | null,
    actor: string,
    detail?: string,
  ): Promise<void>;
}

/** One row of the audit trail as the bank shows it. */
export interface AuditEvent {
  id: number;
  at: number;
  kind: string;
  serviceId: string | null;
  userId: string | null;
  actor: string;
  detail: string | null;
}

/** A transaction's result: a refusal returned (not thrown) commits what the transaction counted. */
export type Outcome<T> = { value: T } | { error: BankError };

export function unwrap<T>(outcome: Outcome<T>): T {
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}

export function refuse(code: BankErrorCode, notice: Notice, details: Omit<BankErrorDetails, "ja"> = {}): BankError {
  return new BankError(code, notice.en, { ...details, ja: notice.ja });
}

/**
 * Why an activation message or a first code for this issue is refused before anything is computed, or
 * null. `ownAttempt` = 1 when the count already includes the attempt being decided.
 */
export function issueRefusal(issue: IssueRow | undefined, now: number, limit: number, ownAttempt = 0): BankError | null {
  if (!issue) return refuse("unknown", NOTICES.noIssue());
  if (issue.state === "completed") return refuse("already-confirmed", NOTICES.alreadyConfirmed());
  if (issue.state === "void" || issue.failed_attempts - ownAttempt >= limit) {
    return refuse("issue-void", NOTICES.issueVoid(issue.void_reason ?? "failures"), { attemptsLeft: 0 });
  }
  if (now >= issue.expires_at) return refuse("expired", NOTICES.issueExpired());
  return null;
}

/**
 * Seconds without checks after the k-th consecutive failure (codes, transfer codes and login
 * passwords alike): min(throttleBaseSeconds * 2^(k-1), throttleMaxSeconds).
 */
export function throttleDelay(config: Pick<BankConfig, "throttleBaseSeconds" | "throttleMaxSeconds">, failures: number): number {
  const { throttleBaseSeconds, throttleMaxSeconds } = config;
  return Math.min(throttleBaseSeconds * 2 ** Math.max(failures - 1, 0), throttleMaxSeconds);
}

export function codeFormatError(code: string, digits: number): BankError | null {
  if (typeof code !== "string" || code.length !== digits || !/^[0-9]+$/.test(code)) {
    return new BankError("invalid-code", `the code must be exactly ${digits} digits`, {
      ja: `ワンタイムパスワードは半角数字${digits}桁で入力してください。`,
    });
  }
  return null;
}

export function tokenParams(token: Pick<TokenRow, "algorithm" | "digits" | "period" | "label">): OtpParameters {
  return { algorithm: token.algorithm, digits: token.digits, period: token.period, label: token.label };
}

export const serialHex = (serial: bigint) => serial.toString(16).padStart(16, "0").toUpperCase();

export function sha256(data: string | Uint8Array): Uint8Array {
  const hash = createHash("sha256");
  if (typeof data === "string") hash.update(data, "utf8");
  else hash.update(data);
  return new Uint8Array(hash.digest());
}
