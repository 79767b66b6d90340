// The customers room: the bank's customers who log in (procedure step ① and ⑧, issue 18). A customer
// (its 7-digit number, the middle of every User ID it is issued) has an internet-banking login
// (ログインID and ログインパスワード) or is named by the bank backend's own reference, or both. The
// password is hashed with scrypt (node:crypto, memory-hard, run asynchronously off the event loop)
// and never stored or logged in clear. Failed logins are throttled as codes are (a delay after each
// failure, doubling) and lock the login at the bank's lockout threshold. A login that passed gives
// a login ticket (HMAC under a key derived from the master key, so every instance accepts it) that
// names the customer to トークン発行. Reached by `bank customer create|unlock`, `bank login`,
// PUT /v1/customers/{reference}, POST /v1/logins, the browser bank's login screen, the demo.
import { createHmac, randomBytes, scrypt as scryptCallback, type ScryptOptions, timingSafeEqual } from "node:crypto";
import type { CustomerLoginRow } from "../store.js";
import { NOTICES } from "../notices.js";
import { type AuditWriter, type BankContext, type Outcome, refuse, throttleDelay, unwrap } from "./shared.js";

/** scrypt's parameters for new hashes: N = 2^15, r = 8, p = 1 (32 MiB), 16-byte salt, 32-byte key. */
export const PASSWORD_KDF = { log2N: 15, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;

/** Seconds a login ticket names its customer to トークン発行. */
export const LOGIN_TICKET_SECONDS = 1800;

export const LOGIN_ID_PATTERN = /^[0-9A-Za-z]{6,16}$/;
export const REFERENCE_PATTERN = /^[\x21-\x7e]{1,64}$/;

function scrypt(password: string, salt: Buffer, keyBytes: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

function kdfOptions(log2N: number, r: number, p: number): ScryptOptions {
  return { N: 2 ** log2N, r, p, maxmem: 256 * 2 ** log2N * r };
}

/** "scrypt$<log2 N>$<r>$<p>$<salt>$<key>" (base64): the parameters travel with the hash, so they can grow. */
export async function hashLoginPassword(password: string, salt: Buffer = randomBytes(PASSWORD_KDF.saltBytes)): Promise<string> {
  const { log2N, r, p, keyBytes } = PASSWORD_KDF;
  const key = await scrypt(password, salt, keyBytes, kdfOptions(log2N, r, p));
  return `scrypt$${log2N}$${r}$${p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

export async function checkLoginPassword(password: string, stored: string): Promise<boolean> {
  const [kind, log2N, r, p, salt, key] = stored.split("$");
  if (kind !== "scrypt" || key === undefined) return false;
  const expected = Buffer.from(key, "base64");
  const got = await scrypt(password, Buffer.from(salt, "base64"), expected.length, kdfOptions(Number(log2N), Number(r), Number(p)));
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** The ログインパスワード's rules: 8-32 half-width letters, digits and symbols, a letter and a digit among them. */
export function loginPasswordProblem(password: string): boolean {
  return typeof password !== "string" || !/^[\x21-\x7e]{8,32}$/.test(password) || !/[A-Za-z]/.test(password) || !/[0-9]/.test(password);
}

export interface CustomerInput {
  /** ログインID; omitted for a customer the bank's backend names by `reference` only. */
  loginId?: string;
  password?: string;
  passwordConfirm?: string;
  /** The bank backend's own reference for this customer (one customer per reference). */
  reference?: string;
  /** An existing customer, named by a User ID of its (the customer of a token issued before logins). */
  userId?: string;
}

export interface CustomerInfo {
  customerNumber: string;
  loginId: string | null;
  reference: string | null;
  /** False when the reference already named a customer (nothing was created). */
  created: boolean;
}

/** A login whose password passed; the bank then asks the customer's token for a code if it has one. */
export interface PasswordPassed {
  customerId: number;
  customerNumber: string;
  /** The User ID of the customer's token that must give a code at login, or null. */
  tokenUserId: string | null;
}

export interface LoginResult {
  customerNumber: string;
  /** The User ID of the customer's token, if it has one (the re-set-up's starting point). */
  userId: string | null;
  /** Names the customer to トークン発行 until `ticketExpiresAt`. */
  ticket: string;
  ticketExpiresAt: number;
}

class ReferenceRace extends Error {}

export class Customers {
  readonly #ticketKey: Uint8Array;
  #dummyHash: Promise<string> | null = null;

  constructor(
    private readonly ctx: Pick<BankContext, "store" | "masterKey" | "config" | "now" | "actor">,
    private readonly audit: AuditWriter,
  ) {
    this.#ticketKey = ctx.masterKey.deriveKey("login ticket v1");
  }

  /**
   * A customer with a login (`bank customer create`), or the customer a backend's reference names,
   * made once: the same reference again answers with the same customer (created: false).
   */
  async create(input: CustomerInput, by = this.ctx.actor): Promise<CustomerInfo> {
    const loginId = input.loginId ?? null;
    const reference = input.reference ?? null;
    if (loginId === null && reference === null) throw refuse("login-id-form", NOTICES.loginIdForm());
    if (loginId !== null && (typeof loginId !== "string" || !LOGIN_ID_PATTERN.test(loginId)))
      throw refuse("login-id-form", NOTICES.loginIdForm());
    if (reference !== null && (typeof reference !== "string" || !REFERENCE_PATTERN.test(reference))) {
      throw refuse("login-id-form", {
        en: "the customer reference must be 1-64 printable ASCII characters",
        ja: "お客様の参照番号が正しくありません。",
      });
    }
    let hash: string | null = null;
    if (loginId !== null) {
      if (loginPasswordProblem(input.password ?? "")) throw refuse("login-password-form", NOTICES.loginPasswordForm());
      if (input.passwordConfirm !== undefined && input.passwordConfirm !== input.password) {
        throw refuse("login-password-mismatch", NOTICES.loginPasswordMismatch());
      }
      hash = await hashLoginPassword(input.password as string);
    }
    const run = () =>
      this.ctx.store.transaction(async (tx): Promise<Outcome<CustomerInfo>> => {
        const now = this.ctx.now();
        if (reference !== null) {
          const known = await tx.loginByReference(reference);
          if (known) {
            if (loginId !== null && known.login_id !== loginId) return { error: refuse("login-taken", NOTICES.loginTaken()) };
            return { value: { customerNumber: known.customer_number as string, loginId: known.login_id, reference, created: false } };
          }
        }
        if (loginId !== null && (await tx.loginByLoginId(loginId))) return { error: refuse("login-taken", NOTICES.loginTaken()) };
        let customer = input.userId !== undefined ? await tx.customerOf(input.userId) : await tx.insertCustomer(now);
        if (!customer) {
          return input.userId !== undefined
            ? { error: refuse("unknown", NOTICES.noToken()) }
            : {
                error: refuse("issue-numbers-used", { en: "every 7-digit customer number is taken", ja: "お客様番号に空きがありません。" }),
              };
        }
        const customerNumber = customer.customer_number ?? (await tx.assignCustomerNumber(customer.customer_id));
        customer = { ...customer, customer_number: customerNumber };
        const inserted = await tx.insertLogin({
          customer_id: customer.customer_id,
          login_id: loginId,
          password_hash: hash,
          external_ref: reference,
          created_at: now,
        });
        if (!inserted) {
          // A racing request took the reference (or the login ID) first: roll back this customer and look again.
          if (reference !== null && input.userId === undefined) throw new ReferenceRace();
          return { error: refuse("login-taken", NOTICES.loginTaken()) };
        }
        await this.audit.append(
          tx,
          now,
          "customer-created",
          null,
          null,
          by,
          `customer ${customerNumber}${loginId === null ? "" : "; login"}${reference === null ? "" : "; backend reference"}`,
        );
        return { value: { customerNumber, loginId, reference, created: true } };
      });
    try {
      return unwrap(await run());
    } catch (error) {
      if (error instanceof ReferenceRace) return unwrap(await run());
      throw error;
    }
  }

  /** The customer a backend's reference names, or null. */
  async customerNumberOfReference(reference: string): Promise<string | null> {
    if (typeof reference !== "string" || !REFERENCE_PATTERN.test(reference)) return null;
    return this.ctx.store.transaction(async (tx) => (await tx.loginByReference(reference))?.customer_number ?? null);
  }

  /** Seconds without checks after the k-th consecutive failure (as for codes). */
  private delay(failures: number): number {
    return throttleDelay(this.ctx.config, failures);
  }

  private gate(row: CustomerLoginRow, now: number) {
    if (row.locked === 1) return refuse("login-locked", NOTICES.loginLocked(), { attemptsLeft: 0 });
    if (now < row.next_check_at) {
      const wait = row.next_check_at - now;
      return refuse("throttled", NOTICES.throttled(wait), {
        retryAfterSeconds: wait,
        attemptsLeft: Math.max(this.ctx.config.lockoutThreshold - row.consecutive_failures, 0),
      });
    }
    return null;
  }

  /**
   * Step ①'s password check: the row's lock and throttle first (nothing hashed while throttled),
   * scrypt outside the transaction, then the failure counted (or nothing changed) in one transaction.
   * An unknown login ID costs the same hash and gets the same answer as a wrong password.
   */
  async checkPassword(loginId: string, password: string, by = this.ctx.actor): Promise<PasswordPassed> {
    const known = typeof loginId === "string" && LOGIN_ID_PATTERN.test(loginId) ? await this.ctx.store.loginByLoginId(loginId) : undefined;
    const now = this.ctx.now();
    if (!known || known.password_hash === null) {
      this.#dummyHash ??= hashLoginPassword("not a password", Buffer.alloc(PASSWORD_KDF.saltBytes));
      await checkLoginPassword(String(password), await this.#dummyHash);
      throw refuse("login-failed", NOTICES.loginFailed(null));
    }
    const early = this.gate(known, now);
    if (early) throw early;
    const passed = typeof password === "string" && (await checkLoginPassword(password, known.password_hash));
    return unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<PasswordPassed>> => {
        const row = await tx.loginByLoginId(loginId);
        if (!row) return { error: refuse("login-failed", NOTICES.loginFailed(null)) };
        const refused = this.gate(row, now);
        if (refused) return { error: refused };
        if (!passed) {
          const threshold = this.ctx.config.lockoutThreshold;
          const delay = this.delay(row.consecutive_failures + 1);
          const { failures, locked } = await tx.recordLoginFailure(row.customer_id, threshold, delay > 0 ? now + delay : 0);
          await this.audit.append(
            tx,
            now,
            locked ? "login-locked" : "login-failure",
            null,
            null,
            by,
            `customer ${row.customer_number}; consecutive failures ${failures}`,
          );
          const left = Math.max(threshold - failures, 0);
          return {
            error: locked
              ? refuse("login-locked", NOTICES.loginLocked(), { attemptsLeft: 0 })
              : refuse("login-failed", NOTICES.loginFailed(left), { attemptsLeft: left, retryAfterSeconds: delay }),
          };
        }
        const token = await tx.tokenOfCustomer(row.customer_id);
        const needsCode = token !== undefined && token.state !== "revoked" && now < token.expires_at;
        return {
          value: {
            customerId: row.customer_id,
            customerNumber: row.customer_number as string,
            tokenUserId: needsCode ? token.user_id : null,
          },
        };
      }),
    );
  }

  /** The whole login passed (the password, and the token's code when it has one): failures cleared, a ticket. */
  async loggedIn(passed: PasswordPassed, by = this.ctx.actor): Promise<LoginResult> {
    const now = this.ctx.now();
    const userId = await this.ctx.store.transaction(async (tx) => {
      await tx.recordLoginSuccess(passed.customerId, now);
      await this.audit.append(tx, now, "customer-login", null, passed.tokenUserId, by, `customer ${passed.customerNumber}`);
      return (await tx.tokenOfCustomer(passed.customerId))?.user_id ?? null;
    });
    const ticketExpiresAt = now + LOGIN_TICKET_SECONDS;
    return { customerNumber: passed.customerNumber, userId, ticket: this.ticket(passed.customerNumber, ticketExpiresAt), ticketExpiresAt };
  }

  /** An administrator clears a login's lock and failures (the help desk, after checking who calls). */
  async unlock(loginId: string, by = this.ctx.actor): Promise<void> {
    unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<void>> => {
        const row = typeof loginId === "string" ? await tx.loginByLoginId(loginId) : undefined;
        if (!row) return { error: refuse("login-failed", NOTICES.loginFailed(null)) };
        await tx.unlockLogin(row.customer_id);
        await this.audit.append(tx, this.ctx.now(), "login-unlocked", null, null, by, `customer ${row.customer_number}`);
        return { value: undefined };
      }),
    );
  }

  private mac(body: string): string {
    return createHmac("sha256", this.#ticketKey).update(body).digest("base64url");
  }

  private ticket(customerNumber: string, expiresAt: number): string {
    const body = `${customerNumber}.${expiresAt}`;
    return `${body}.${this.mac(body)}`;
  }

  /** The customer number a login ticket names, if the ticket is this bank's and has not expired. */
  customerOfTicket(ticket: string): string {
    const parts = typeof ticket === "string" ? ticket.split(".") : [];
    if (parts.length === 3 && /^[0-9]{7}$/.test(parts[0]) && /^[0-9]{1,12}$/.test(parts[1])) {
      const expected = Buffer.from(this.mac(`${parts[0]}.${parts[1]}`));
      const given = Buffer.from(parts[2]);
      if (given.length === expected.length && timingSafeEqual(given, expected) && this.ctx.now() < Number(parts[1])) return parts[0];
    }
    throw refuse("login-ticket", NOTICES.loginTicket());
  }
}
