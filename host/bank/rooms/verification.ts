// The verification room: 認証確認 (procedure step 6: the first code makes the token the customer's),
// the login verifier (RFC 6238 §5.2: a window around the recorded drift, each step accepted at most
// once), resynchronisation, and the guards of every check: throttling after each failure (NIST SP
// 800-63B §5.2.2) and the lock after too many. Reached by POST /v1/tokens/{userId}/confirm, /verify,
// /resync, `bank confirm|verify|resync`, the browser bank's 認証確認 and login screens.
import { USER_ID_PATTERN } from "../../identity.js";
import { aad } from "../crypto.js";
import { BankError } from "../errors.js";
import { NOTICES } from "../notices.js";
import type { OtpParameters } from "../protocol.js";
import type { StoreTx, VerifiableToken } from "../store.js";
import {
  type AuditWriter,
  type BankContext,
  codeFormatError,
  issueRefusal,
  type Outcome,
  refuse,
  throttleDelay,
  tokenParams,
  unwrap,
} from "./shared.js";

/** A login code's transaction reads and writes only its token: the store may group it with others (TransactionOptions). */
const VERIFY_GROUP = (userId: string) => (typeof userId === "string" && USER_ID_PATTERN.test(userId) ? { group: userId } : undefined);

export interface VerifyResult {
  ok: true;
  /** Matched step minus the expected step (current step + recorded drift). */
  offset: number;
  /** The drift now recorded: matched step minus the bank's current step. */
  driftSteps: number;
  /** The step accepted (now the last step: it and every earlier step are refused from now on). */
  step: number;
}

export class Verification {
  constructor(
    private readonly ctx: Pick<BankContext, "store" | "masterKey" | "config" | "now" | "checkCode" | "actor">,
    private readonly audit: AuditWriter,
  ) {}

  /**
   * "認証確認" on the bank's screen: the first code of the activated token. On success, in one
   * transaction, the token becomes the customer's token at this User ID (replacing any previous
   * one), the issue is completed and its activation password deleted. A wrong code counts toward the
   * same limit as unconfirmed activations (maxActivationFailures), after which the issue is void.
   */
  async confirm(userId: string, code: string, by = this.ctx.actor): Promise<VerifyResult> {
    const { config, masterKey } = this.ctx;
    const now = this.ctx.now();
    const limit = config.maxActivationFailures;
    return unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<VerifyResult>> => {
        await tx.forgetExpired(now);
        const issue = typeof userId === "string" && USER_ID_PATTERN.test(userId) ? await tx.latestIssue(userId) : undefined;
        const refused = issueRefusal(issue, now, limit);
        if (refused) return { error: refused };
        const pending = issue!;
        if (pending.pending_seed === null || pending.pending_serial === null)
          return { error: refuse("not-activated", NOTICES.notActivated()) };
        const badFormat = codeFormatError(code, pending.digits);
        if (badFormat) return { error: badFormat };
        const params: OtpParameters = {
          algorithm: pending.algorithm,
          digits: pending.digits,
          period: pending.period,
          label: pending.label,
        };
        const seed = masterKey.open(pending.pending_seed, aad.pendingSeed(pending.service_id, userId, pending.pending_serial));
        try {
          const currentStep = Math.floor(now / params.period);
          const matched = this.ctx.checkCode(seed, params, code, currentStep, config.window);
          if (matched === null) {
            const failures = await tx.countIssueFailure(pending.issue_id);
            const voided = failures >= limit;
            if (voided) await tx.voidIssue(pending.issue_id, "failures");
            await this.audit.append(
              tx,
              now,
              voided ? "issue-void" : "confirm-wrong-code",
              pending.service_id,
              userId,
              by,
              `failed attempts ${failures}`,
            );
            return {
              error: voided
                ? refuse("issue-void", NOTICES.voidAfterCodes(), { attemptsLeft: 0 })
                : refuse("wrong-code", NOTICES.wrongFirstCode(limit - failures), { attemptsLeft: limit - failures }),
            };
          }
          const previous = await tx.tokenOfCustomer(pending.customer_id);
          const driftSteps = config.trackDrift ? matched - currentStep : 0;
          await tx.replaceToken({
            user_id: userId,
            customer_id: pending.customer_id,
            issue_id: pending.issue_id,
            service_id: pending.service_id,
            serial: pending.pending_serial,
            seed: masterKey.seal(seed, aad.seed(pending.service_id, userId, pending.pending_serial)),
            ...params,
            drift_steps: driftSteps,
            last_step: matched,
            activated_at: now,
            expires_at: pending.token_expires_at,
          });
          await tx.completeIssue(pending.issue_id, now);
          if (previous)
            await this.audit.append(
              tx,
              now,
              "token-replaced",
              previous.service_id,
              previous.user_id,
              by,
              `serial ${previous.serial} replaced by ${pending.pending_serial} at ${userId}`,
            );
          await this.audit.append(
            tx,
            now,
            "confirmed",
            pending.service_id,
            userId,
            by,
            `serial ${pending.pending_serial} active; drift ${driftSteps}`,
          );
          return { value: { ok: true, offset: matched - currentStep, driftSteps, step: matched } };
        } finally {
          seed.fill(0);
        }
      }),
    );
  }

  /** A login code: RFC 6238 within ±window steps around the recorded drift; each step accepted at most once. */
  async verify(userId: string, code: string, by = this.ctx.actor): Promise<VerifyResult> {
    const now = this.ctx.now();
    return unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<VerifyResult>> => {
        const found = await this.usableToken(tx, userId, now, by, [code]);
        if ("error" in found) return found;
        const token = found.value;
        const { currentStep, expected } = this.steps(token, now);
        const matched = this.withSeed(token, (seed) =>
          this.ctx.checkCode(seed, tokenParams(token), code, expected, this.ctx.config.window),
        );
        if (matched === null) {
          const error = await this.failure(tx, token, now, by, "wrong-code");
          // Counted as any wrong code; a code of the wider window is marked, so a gateway can ask for the next one (resync).
          if (error.attemptsLeft !== 0) error.details.inResyncWindow = this.inResyncWindow(token, code, expected);
          return { error };
        }
        if (matched <= token.last_step) return { error: await this.failure(tx, token, now, by, "replayed") };
        const driftSteps = this.ctx.config.trackDrift ? matched - currentStep : token.drift_steps;
        await tx.recordTokenSuccess(userId, driftSteps, matched, now);
        await this.audit.append(
          tx,
          now,
          "login",
          token.service_id,
          userId,
          by,
          `offset ${matched - expected}; drift ${token.drift_steps} -> ${driftSteps}`,
        );
        return { value: { ok: true, offset: matched - expected, driftSteps, step: matched } };
      }, VERIFY_GROUP(userId)),
    );
  }

  /**
   * Resynchronisation: two consecutive codes (steps s and s+1, both after the last accepted step)
   * anywhere within ±resyncWindow steps around the recorded drift. Refused for a locked token: only
   * an administrator unlocks, so a guesser who locked it gains nothing from a wider window.
   */
  async resync(userId: string, code1: string, code2: string, by = this.ctx.actor): Promise<VerifyResult> {
    const now = this.ctx.now();
    const { resyncWindow } = this.ctx.config;
    return unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<VerifyResult>> => {
        const found = await this.usableToken(tx, userId, now, by, [code1, code2]);
        if ("error" in found) return found;
        const token = found.value;
        const params = tokenParams(token);
        const { currentStep, expected } = this.steps(token, now);
        // Every step where code1 matches (a 6-digit code can match more than one of 21 steps), then code2 right after.
        const step = this.withSeed(token, (seed) => {
          for (let s = Math.max(expected - resyncWindow, token.last_step + 1); s <= expected + resyncWindow; s++) {
            if (this.ctx.checkCode(seed, params, code1, s, 0) === s && this.ctx.checkCode(seed, params, code2, s + 1, 0) === s + 1)
              return s;
          }
          return null;
        });
        if (step === null)
          return {
            error: await this.failure(
              tx,
              token,
              now,
              by,
              "wrong-code",
              "the two codes are not consecutive codes of this token near the current time",
            ),
          };
        const driftSteps = step + 1 - currentStep;
        await tx.recordTokenSuccess(userId, driftSteps, step + 1, now);
        await this.audit.append(tx, now, "resync", token.service_id, userId, by, `drift ${token.drift_steps} -> ${driftSteps} steps`);
        return { value: { ok: true, offset: step + 1 - expected, driftSteps, step: step + 1 } };
      }),
    );
  }

  /** Whether `code` is the token's code at a step after its last accepted one within ±resyncWindow of `expected`. */
  private inResyncWindow(token: VerifiableToken, code: string, expected: number): boolean {
    const { resyncWindow } = this.ctx.config;
    const params = tokenParams(token);
    return this.withSeed(token, (seed) => {
      for (let s = Math.max(expected - resyncWindow, token.last_step + 1); s <= expected + resyncWindow; s++) {
        if (this.ctx.checkCode(seed, params, code, s, 0) === s) return true;
      }
      return false;
    });
  }

  /** Seconds without checks after the k-th consecutive failure. */
  throttleDelay(failures: number): number {
    return throttleDelay(this.ctx.config, failures);
  }

  /** The bank's step now, and the step the token should show now given its recorded drift. */
  private steps(token: VerifiableToken, now: number): { currentStep: number; expected: number } {
    const currentStep = Math.floor(now / token.period);
    return { currentStep, expected: currentStep + (this.ctx.config.trackDrift ? token.drift_steps : 0) };
  }

  /**
   * The token at `userId` if `codes` may be checked for it now: not revoked, suspended, locked or
   * expired, the codes of its length (a typo of the wrong length is not a guess, and not throttled),
   * and not throttled.
   */
  private async usableToken(tx: StoreTx, userId: string, now: number, by: string, codes: string[]): Promise<Outcome<VerifiableToken>> {
    const token = typeof userId === "string" && USER_ID_PATTERN.test(userId) ? await tx.verifiableToken(userId) : undefined;
    if (!token) return { error: refuse("unknown", NOTICES.noToken()) };
    if (token.state === "revoked") return { error: refuse("revoked", NOTICES.revoked()) };
    if (token.state === "suspended") return { error: refuse("suspended", NOTICES.suspended()) };
    if (token.locked === 1) return { error: refuse("locked", NOTICES.locked(), { attemptsLeft: 0 }) };
    if (now >= token.expires_at) return { error: refuse("token-expired", NOTICES.tokenExpired()) };
    for (const code of codes) {
      const badFormat = codeFormatError(code, token.digits);
      if (badFormat) return { error: badFormat };
    }
    if (now < token.next_check_at) {
      const wait = token.next_check_at - now;
      await this.audit.append(tx, now, "throttled", token.service_id, userId, by, `retry after ${wait} s`);
      return {
        error: refuse("throttled", NOTICES.throttled(wait), {
          retryAfterSeconds: wait,
          attemptsLeft: this.ctx.config.lockoutThreshold - token.consecutive_failures,
        }),
      };
    }
    return { value: token };
  }

  private withSeed<T>(token: VerifiableToken, use: (seed: Uint8Array) => T): T {
    const seed = this.ctx.masterKey.open(token.seed, aad.seed(token.service_id, token.user_id, token.serial));
    try {
      return use(seed);
    } finally {
      seed.fill(0);
    }
  }

  /** Counts a failed verification (committed with the transaction), throttles the next check, and says whether it locked the token. */
  private async failure(
    tx: StoreTx,
    token: VerifiableToken,
    now: number,
    by: string,
    code: "wrong-code" | "replayed",
    message?: string,
  ): Promise<BankError> {
    const threshold = this.ctx.config.lockoutThreshold;
    const delay = this.throttleDelay(token.consecutive_failures + 1);
    // No delay configured: no check time at all (a racing request that read the clock a second later must not throttle one that read it earlier).
    const { failures, locked } = await tx.recordTokenFailure(token.user_id, threshold, delay > 0 ? now + delay : 0);
    await this.audit.append(
      tx,
      now,
      locked ? "locked" : code,
      token.service_id,
      token.user_id,
      by,
      `consecutive failures ${failures}; next check in ${delay} s`,
    );
    const left = Math.max(threshold - failures, 0);
    const notice = locked ? NOTICES.nowLocked() : code === "replayed" ? NOTICES.replayedLoginCode(left) : NOTICES.wrongLoginCode(left);
    return new BankError(
      code,
      message && !locked ? `${message} (${left} attempt${left === 1 ? "" : "s"} left before the token locks)` : notice.en,
      {
        ja: notice.ja,
        attemptsLeft: left,
        retryAfterSeconds: locked ? undefined : delay,
      },
    );
  }
}
