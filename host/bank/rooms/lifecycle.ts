// The lifecycle room: what an administrator does to a token (unlock, suspend, resume, revoke), its
// expiry and the renewals due, and what the bank knows about a User ID (never a secret). Reached by
// POST /v1/tokens/{userId}/unlock|suspend|resume|revoke, GET /v1/tokens/{userId} and /v1/status,
// `bank unlock|suspend|resume|revoke|status`, the browser bank's administrator page.
import { USER_ID_PATTERN } from "../../identity.js";
import { BankError } from "../errors.js";
import { NOTICES } from "../notices.js";
import type { IssueRow, StoreTx, TokenRow } from "../store.js";
import { type AuditEvent, type AuditWriter, type BankContext, type Outcome, refuse, type SettingsView, unwrap } from "./shared.js";

export interface TokenStatus {
  userId: string;
  serial: string;
  algorithm: string;
  digits: number;
  period: number;
  label: string;
  state: TokenRow["state"];
  driftSteps: number;
  lastStep: number;
  consecutiveFailures: number;
  locked: boolean;
  /** Unix seconds before which no code is checked (0: none). */
  nextCheckAt: number;
  activatedAt: number;
  expiresAt: number;
  lastSuccessAt: number | null;
}

export interface IssueStatus {
  mail: string;
  state: IssueRow["state"];
  voidReason: string | null;
  createdAt: number;
  expiresAt: number;
  expired: boolean;
  failedAttempts: number;
  /** Serial of the activated token awaiting its first code, if any. */
  pendingSerial: string | null;
}

export interface BankStatus {
  userId: string;
  serviceId: string | null;
  customerNumber: string | null;
  /** The newest issue with this User ID. */
  issue: IssueStatus | null;
  /** The token at this User ID (a confirmed re-set-up moves the customer to the new User ID). */
  token: TokenStatus | null;
  events: AuditEvent[];
}

export interface BankOverview {
  serviceId: string;
  mailDomain: string;
  tokens: Record<TokenRow["state"] | "locked", number>;
  /** Unrevoked tokens expiring within renewalNoticeSeconds (or already expired), soonest first. */
  dueForRenewal: { userId: string; serial: string; state: TokenRow["state"]; expiresAt: number }[];
}

/** What the lifecycle room reads of the audit trail. */
export interface AuditReader {
  eventsOf(userId: string, limit: number): Promise<AuditEvent[]>;
}

export class Lifecycle {
  constructor(
    private readonly ctx: Pick<BankContext, "store" | "config" | "now" | "actor">,
    private readonly audit: AuditWriter & AuditReader,
    private readonly settings: SettingsView,
  ) {}

  /** An administrator clears the lock, the failure count and the throttling delay (audit-logged). */
  async unlock(userId: string, by = this.ctx.actor): Promise<void> {
    await this.changeToken(
      userId,
      by,
      "unlocked",
      (token) => (token.state === "revoked" ? "a revoked token cannot be unlocked: issue a new token" : null),
      async (tx, token) => {
        await tx.unlockToken(token.user_id);
        return `had ${token.consecutive_failures} consecutive failures`;
      },
    );
  }

  /** The customer reports the token missing: no code is accepted until `resume`. */
  async suspend(userId: string, by = this.ctx.actor): Promise<void> {
    await this.changeToken(
      userId,
      by,
      "suspended",
      (token) => (token.state !== "active" ? `the token is ${token.state}, not active: only an active token can be suspended` : null),
      async (tx, token) => {
        await tx.setTokenState(token.user_id, "suspended");
        return null;
      },
    );
  }

  /** The customer found the token: codes are accepted again. */
  async resume(userId: string, by = this.ctx.actor): Promise<void> {
    await this.changeToken(
      userId,
      by,
      "resumed",
      (token) => (token.state !== "suspended" ? `the token is ${token.state}, not suspended: only a suspended token can be resumed` : null),
      async (tx, token) => {
        await tx.setTokenState(token.user_id, "active");
        return null;
      },
    );
  }

  /** Lost or stolen: final. The customer needs a new token issue. */
  async revoke(userId: string, by = this.ctx.actor): Promise<void> {
    await this.changeToken(
      userId,
      by,
      "revoked",
      (token) => (token.state === "revoked" ? "the token is already revoked" : null),
      async (tx, token) => {
        await tx.setTokenState(token.user_id, "revoked");
        return `was ${token.state}`;
      },
    );
  }

  private async changeToken(
    userId: string,
    by: string,
    kind: string,
    refusal: (token: TokenRow) => string | null,
    change: (tx: StoreTx, token: TokenRow) => Promise<string | null>,
  ): Promise<void> {
    const now = this.ctx.now();
    unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<null>> => {
        const token = typeof userId === "string" && USER_ID_PATTERN.test(userId) ? await tx.getToken(userId) : undefined;
        if (!token) return { error: refuse("unknown", NOTICES.noToken()) };
        const why = refusal(token);
        if (why) return { error: new BankError("state", why) };
        const detail = await change(tx, token);
        await this.audit.append(tx, now, kind, token.service_id, userId, by, detail ?? undefined);
        return { value: null };
      }),
    );
  }

  /** What the bank knows about this User ID, without secrets. */
  async status(userId: string): Promise<BankStatus> {
    if (typeof userId !== "string" || !USER_ID_PATTERN.test(userId)) throw refuse("unknown", NOTICES.noToken());
    const { store } = this.ctx;
    const now = this.ctx.now();
    const [issue, token, customer] = await Promise.all([store.latestIssue(userId), store.getToken(userId), store.customerOf(userId)]);
    if (!issue && !token) throw new BankError("unknown", "nothing is known for this User ID");
    return {
      userId,
      serviceId: token?.service_id ?? issue?.service_id ?? null,
      customerNumber: customer?.customer_number ?? null,
      issue: issue
        ? {
            mail: issue.mail,
            state: issue.state,
            voidReason: issue.void_reason,
            createdAt: issue.created_at,
            expiresAt: issue.expires_at,
            expired: now >= issue.expires_at,
            failedAttempts: issue.failed_attempts,
            pendingSerial: issue.state === "pending" ? issue.pending_serial : null,
          }
        : null,
      token: token ? tokenStatus(token) : null,
      events: await this.audit.eventsOf(userId, 20),
    };
  }

  /** Counts of tokens by state, and the tokens due for renewal (expiring within renewalNoticeSeconds). */
  async overview(limit = 100): Promise<BankOverview> {
    const now = this.ctx.now();
    const [tokens, due] = await Promise.all([
      this.ctx.store.countTokens(),
      this.ctx.store.listTokens({ limit, expiringBefore: now + this.ctx.config.renewalNoticeSeconds }),
    ]);
    due.sort((a, b) => a.expires_at - b.expires_at);
    return {
      serviceId: this.settings.serviceId,
      mailDomain: this.settings.mailDomain,
      tokens,
      dueForRenewal: due.map((t) => ({ userId: t.user_id, serial: t.serial, state: t.state, expiresAt: t.expires_at })),
    };
  }
}

function tokenStatus(token: TokenRow): TokenStatus {
  return {
    userId: token.user_id,
    serial: token.serial,
    algorithm: token.algorithm,
    digits: token.digits,
    period: token.period,
    label: token.label,
    state: token.state,
    driftSteps: token.drift_steps,
    lastStep: token.last_step,
    consecutiveFailures: token.consecutive_failures,
    locked: token.locked === 1,
    nextCheckAt: token.next_check_at,
    activatedAt: token.activated_at,
    expiresAt: token.expires_at,
    lastSuccessAt: token.last_success_at,
  };
}
