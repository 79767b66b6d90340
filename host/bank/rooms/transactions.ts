// The transactions room: transfers the customer signs on the token (取引認証, issue 23;
// docs/transaction-signing.md). createTransaction keeps the backend's transfer with a fresh nonce
// and gives back the frame the page draws and its expiry; verifyTransaction accepts the code of that
// transfer once, before the expiry, from the token of the transfer's User ID. A wrong code is counted
// on the token like a wrong login code: toward the lock, and throttling the token's next check (login
// or transfer) as rooms/verification.ts does; the audit trail names each transfer by the SHA-256 of
// its bytes.
import { createHash, timingSafeEqual } from "node:crypto";
import { USER_ID_PATTERN } from "../../identity.js";
import { frameText } from "../../optical/frame.js";
import { encodeTransfer, TRANSACTION_SUITE, type Transfer, transferCode } from "../../transaction.js";
import { aad } from "../crypto.js";
import { BankError } from "../errors.js";
import { NOTICES } from "../notices.js";
import type { StoreTx, TokenRow, TransactionRow } from "../store.js";
import { type AuditWriter, type BankContext, type Outcome, refuse, throttleDelay, unwrap } from "./shared.js";

/** Seconds a transfer waits for its code. */
export const TRANSACTION_LIFETIME_SECONDS = 300;
const CODE_PATTERN = /^[0-9]{8}$/;

export interface TransactionRequest {
  userId: string;
  payee: Pick<Transfer, "bankCode" | "branch" | "account" | "name">;
  /** Yen, 1 to 999,999,999,999. */
  amount: number;
  /** The backend's reference for the transfer (1-64 printable characters). */
  reference: string;
}

export interface CreatedTransaction {
  transactionId: string;
  /** The frame the page draws (flicker code) and shows as text for manual entry. */
  frame: string;
  /** The canonical transfer's bytes, hex (what the token shows and signs). */
  payload: string;
  /** SHA-256 of the payload, hex: the audit trail's name for the transfer. */
  digest: string;
  expiresAt: number;
  suite: string;
}

export interface VerifiedTransaction {
  ok: true;
  transactionId: string;
  digest: string;
  reference: string;
}

export class Transactions {
  constructor(
    private readonly ctx: BankContext,
    private readonly audit: AuditWriter,
  ) {}

  async create(request: TransactionRequest, by = this.ctx.actor): Promise<CreatedTransaction> {
    const { userId, payee, amount, reference } = request;
    if (typeof userId !== "string" || !USER_ID_PATTERN.test(userId)) throw refuse("unknown", NOTICES.noToken());
    if (typeof reference !== "string" || !/^[\x20-\x7e]{1,64}$/.test(reference)) {
      throw new RangeError("reference must be 1-64 printable ASCII characters");
    }
    const nonce = this.ctx.random(8);
    const payload = encodeTransfer({ ...payee, amount, nonce });
    const digest = createHash("sha256").update(payload).digest("hex");
    const now = this.ctx.now();
    const row: TransactionRow = {
      transaction_id: Buffer.from(this.ctx.random(16)).toString("hex"),
      user_id: userId,
      payload,
      digest,
      reference,
      created_at: now,
      expires_at: now + TRANSACTION_LIFETIME_SECONDS,
      state: "pending",
      settled_at: null,
    };
    await this.ctx.store.transaction(async (tx) => {
      const token = await tx.getToken(userId);
      if (token?.state !== "active") throw refuse("unknown", NOTICES.noToken());
      await tx.insertTransaction(row);
      await this.audit.append(tx, now, "transaction-created", token.service_id, userId, by, `digest ${digest}; reference ${reference}`);
    });
    return {
      transactionId: row.transaction_id,
      frame: frameText(payload),
      payload: Buffer.from(payload).toString("hex"),
      digest,
      expiresAt: row.expires_at,
      suite: TRANSACTION_SUITE,
    };
  }

  async verify(transactionId: string, code: string, by = this.ctx.actor): Promise<VerifiedTransaction> {
    const now = this.ctx.now();
    if (typeof code !== "string" || !CODE_PATTERN.test(code))
      throw refuse("invalid-code", { en: "a transfer code is 8 digits", ja: "取引認証番号は8桁の数字です。" });
    return unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<VerifiedTransaction>> => {
        const row =
          typeof transactionId === "string" && /^[0-9a-f]{32}$/.test(transactionId) ? await tx.getTransaction(transactionId) : undefined;
        if (!row) return { error: refuse("unknown", { en: "no such transfer", ja: "該当する振込がありません。" }) };
        const token = await tx.getToken(row.user_id);
        if (token?.state !== "active") return { error: refuse("unknown", NOTICES.noToken()) };
        if (token.locked === 1) return { error: refuse("locked", NOTICES.locked(), { attemptsLeft: 0 }) };
        const name = `digest ${row.digest}`;
        // Throttled by a recent wrong code (login or transfer): nothing is checked or settled until then.
        if (now < token.next_check_at) {
          const wait = token.next_check_at - now;
          await this.audit.append(tx, now, "throttled", token.service_id, row.user_id, by, `${name}; retry after ${wait} s`);
          return {
            error: refuse("throttled", NOTICES.throttled(wait), {
              retryAfterSeconds: wait,
              attemptsLeft: Math.max(this.ctx.config.lockoutThreshold - token.consecutive_failures, 0),
            }),
          };
        }
        if (row.state !== "pending") {
          await this.audit.append(tx, now, "transaction-replayed", token.service_id, row.user_id, by, name);
          return {
            error: refuse("replayed", { en: "this transfer was already settled: start a new one", ja: "この振込は処理済みです。" }),
          };
        }
        if (now >= row.expires_at) {
          await tx.settleTransaction(row.transaction_id, "refused", now);
          await this.audit.append(tx, now, "transaction-expired", token.service_id, row.user_id, by, name);
          return {
            error: refuse("expired", { en: "this transfer's time to sign ran out: start a new one", ja: "振込の有効期限が切れました。" }),
          };
        }
        const expected = this.withSeed(token, (seed) => transferCode(seed, row.payload));
        if (!timingSafeEqual(Buffer.from(expected), Buffer.from(code))) return { error: await this.failure(tx, token, now, by, name) };
        await tx.settleTransaction(row.transaction_id, "accepted", now);
        await this.audit.append(tx, now, "transaction-accepted", token.service_id, row.user_id, by, name);
        return { value: { ok: true, transactionId: row.transaction_id, digest: row.digest, reference: row.reference } };
      }),
    );
  }

  private withSeed<T>(token: TokenRow, use: (seed: Uint8Array) => T): T {
    const seed = this.ctx.masterKey.open(token.seed, aad.seed(token.service_id, token.user_id, token.serial));
    try {
      return use(seed);
    } finally {
      seed.fill(0);
    }
  }

  /** A wrong transfer code counts on the token as a wrong login code does: toward the lock, and it throttles the next check. */
  private async failure(tx: StoreTx, token: TokenRow, now: number, by: string, name: string): Promise<BankError> {
    const threshold = this.ctx.config.lockoutThreshold;
    const delay = throttleDelay(this.ctx.config, token.consecutive_failures + 1);
    // No delay configured: no check time at all (as rooms/verification.ts).
    const { failures, locked } = await tx.recordTokenFailure(token.user_id, threshold, delay > 0 ? now + delay : 0);
    await this.audit.append(
      tx,
      now,
      locked ? "locked" : "transaction-wrong-code",
      token.service_id,
      token.user_id,
      by,
      `${name}; consecutive failures ${failures}; next check in ${delay} s`,
    );
    const left = Math.max(threshold - failures, 0);
    const notice = locked ? NOTICES.nowLocked() : NOTICES.wrongLoginCode(left);
    return new BankError("wrong-code", notice.en, { ja: notice.ja, attemptsLeft: left, retryAfterSeconds: locked ? undefined : delay });
  }
}
