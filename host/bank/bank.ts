// The bank side of the procedure (docs/design.md, "The procedure it implements"): token issue (steps
// 2-3), the activation server (docs/activation.md, "Rules": CPace, messages 1 and 3), the first-code confirmation
// that makes a token active (step 6), the verifier (RFC 6238 §5.2 window and drift; §5.2 "MUST NOT
// accept the second attempt of the same OTP"), throttling (NIST SP 800-63B §5.2.2), the token's
// lifecycle, API keys and the hash-chained audit trail.
//
// Every check that reads state and then writes it runs inside ONE store transaction
// (BankStore.transaction, host/bank/store.ts), which holds what it reads locked until it commits, so
// two processes cannot both pass a check on the same row. Counters that guard against guessing are
// committed before the refusal is thrown (a refused check returns its error out of the transaction,
// then it is thrown).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { makeUserId, mailProblem, passwordProblem, SERVICE_ID_PATTERN, USER_ID_FORM, USER_ID_PATTERN } from "../identity.js";
import { algorithmName, otpApi, type OtpApi } from "../otp.js";
import { type ChainReport, verifyChain } from "./audit.js";
import { aad, type MasterKey } from "./crypto.js";
import { BankError, type BankErrorCode, type BankErrorDetails } from "./errors.js";
import { composeSetupMail, writeToOutbox } from "./mail.js";
import { type Notice, NOTICES } from "./notices.js";
import {
  type ActivationConfirmation,
  type ActivationRequest,
  answerRequest,
  type BankSession,
  decodeConfirmation,
  decodeRequest,
  MAX_ACTIVATION_FAILURES,
  type OtpParameters,
  otpParametersProblem,
  ProtocolError,
  SEED_BYTES,
  tagsEqual,
  TAG_BYTES,
} from "./protocol.js";
import type { ApiKeyRow, ApiScope, BankStore, CustomerRow, EventRow, IssueRow, NewToken, SettingName, StoreTx, TokenRow } from "./store.js";

const DAY = 86400;

export interface BankConfig {
  /** Seconds an issue can be activated and confirmed after it is made. */
  issueTtlSeconds: number;
  /** Unconfirmed activations (a wrong password among them) and wrong first codes at confirm after which an issue is void. */
  maxActivationFailures: number;
  /** Steps accepted each way around the token's recorded drift at login. */
  window: number;
  /** Consecutive failed verifications that lock a token until an administrator unlocks it. */
  lockoutThreshold: number;
  /**
   * Throttling (NIST SP 800-63B §5.2.2): after the k-th consecutive failure no code is checked for
   * min(throttleBaseSeconds * 2^(k-1), throttleMaxSeconds) seconds.
   */
  throttleBaseSeconds: number;
  throttleMaxSeconds: number;
  /** Steps searched each way around the recorded drift by resync. */
  resyncWindow: number;
  /** Follow the token's clock: centre the window on the drift seen at the last success. */
  trackDrift: boolean;
  /** Seconds a token is accepted after its issue (the expiry date set at issue): 5 years by default. */
  tokenLifetimeSeconds: number;
  /** `overview()` lists tokens expiring within this many seconds as due for renewal. */
  renewalNoticeSeconds: number;
  /** Folder for set-up mails; none are written when unset. */
  outboxDir?: string;
  /** OTP parameters given to new tokens unless an issue says otherwise. */
  otp: OtpParameters;
}

export const DEFAULT_CONFIG: Readonly<BankConfig> = {
  issueTtlSeconds: DAY,
  maxActivationFailures: MAX_ACTIVATION_FAILURES,
  window: 1,
  lockoutThreshold: 10,
  throttleBaseSeconds: 1,
  throttleMaxSeconds: 900,
  resyncWindow: 10,
  trackDrift: true,
  tokenLifetimeSeconds: 1826 * DAY,
  renewalNoticeSeconds: 30 * DAY,
  otp: { algorithm: "SHA1", digits: 6, period: 60, label: "BANK" },
};

/** The sending domain of set-up mails until `bank settings --mail-domain` sets the bank's own. */
export const DEFAULT_MAIL_DOMAIN = "bank.example";

/**
 * Checks `code` against the seed at steps `centerStep - window .. centerStep + window` and returns
 * the matched step, or null. The default is our wasm TOTP core; the bench swaps in otpauth.
 */
export type CodeChecker = (seed: Uint8Array, params: OtpParameters, code: string, centerStep: number, window: number) => number | null;

/** The default CodeChecker: host/otp.ts createTotp(...).verify centred on an arbitrary step. */
export function wasmCodeChecker(api: OtpApi = otpApi()): CodeChecker {
  return (seed, params, code, centerStep, window) => {
    if (centerStep < 0) return null;
    const totp = api.createTotp(seed, { algorithm: params.algorithm, digits: params.digits, period: params.period });
    try {
      // verify() centres its window on the step of the time given, so give it the centre step's start.
      const offset = totp.verify(code, centerStep * params.period, { window });
      return offset === null ? null : centerStep + offset;
    } finally {
      totp.dispose();
    }
  };
}

export interface BankOptions extends Partial<BankConfig> {
  /** Unix seconds now; default the wall clock. */
  now?: () => number;
  /** Cryptographically secure random bytes (CPace scalars, API key ids and secrets); default node:crypto randomBytes. */
  random?: (length: number) => Uint8Array;
  codeChecker?: CodeChecker;
  /** Who acts when a call names no one, for the audit trail: "cli", "web", ...; default "in-process". */
  actor?: string;
  /**
   * Seconds `authenticate` reuses an API key's stored row before reading it again (0, the default:
   * every call reads it). A key revoked elsewhere is refused here at most this long afterwards.
   */
  apiKeyCacheSeconds?: number;
}

/** Keys `authenticate` keeps at most (a flood of made-up key ids cannot grow it: only stored keys enter). */
const API_KEY_CACHE_ENTRIES = 10_000;

export interface IssueInput {
  mail: string;
  mailConfirm: string;
  password: string;
  passwordConfirm: string;
  /** OTP parameters for this token; unset fields come from the bank's config. */
  otp?: Partial<OtpParameters>;
  /** A re-set-up: a User ID of the customer (their current token's). Omitted for a new customer. */
  userId?: string;
}

export interface IssueResult {
  serviceId: string;
  userId: string;
  mail: string;
  /** Unix seconds: activate and confirm before then. */
  expiresAt: number;
  /** Unix seconds: the token made from this issue is refused from then on. */
  tokenExpiresAt: number;
  /** The set-up mail's id in the outbox (its file name), when an outbox is configured. */
  mailId?: string;
  /** The set-up mail's file, when an outbox is configured. */
  mailFile?: string;
}

/** The bank's answer to an activation request (送信). */
export interface ActivationAnswer {
  /** Message 2, for the token's 登録. */
  response: Uint8Array;
  /**
   * Attempts left before the issue is void if the token refuses this answer (a wrong activation
   * password shows only there): this attempt is counted until the token's confirmation takes it back.
   */
  attemptsLeft: number;
}

export interface VerifyResult {
  ok: true;
  /** Matched step minus the expected step (current step + recorded drift). */
  offset: number;
  /** The drift now recorded: matched step minus the bank's current step. */
  driftSteps: number;
  /** The step accepted (now the last step: it and every earlier step are refused from now on). */
  step: number;
}

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

export interface AuditEvent {
  id: number;
  at: number;
  kind: string;
  serviceId: string | null;
  userId: string | null;
  actor: string;
  detail: string | null;
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

export interface ApiKeyInfo {
  keyId: string;
  name: string;
  scope: ApiScope;
  createdAt: number;
  revokedAt: number | null;
}

/** Exported for PSKC (host/bank/pskc.ts): a token with its seed in clear. Never logged, zeroed by the caller. */
export interface TokenSecret {
  userId: string;
  serviceId: string;
  serial: string;
  seed: Uint8Array;
  params: OtpParameters;
  driftSteps: number;
  activatedAt: number;
  expiresAt: number;
}

const ID_ALPHABET_HEX = "0123456789abcdef";
const KEY_CHECK = "master-key-check";
/** API keys: "otpk_" + 16 hex digits (the id, stored) + "_" + 43 base64url characters (the secret: only its SHA-256 is stored). */
export const API_KEY_PATTERN = /^otpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const MAIL_DOMAIN_PATTERN =
  /^(?=.{3,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

type Outcome<T> = { value: T } | { error: BankError };

function unwrap<T>(outcome: Outcome<T>): T {
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}

function refuse(code: BankErrorCode, notice: Notice, details: Omit<BankErrorDetails, "ja"> = {}): BankError {
  return new BankError(code, notice.en, { ...details, ja: notice.ja });
}

const serialHex = (serial: bigint) => serial.toString(16).padStart(16, "0").toUpperCase();

export class Bank {
  readonly config: Readonly<BankConfig>;
  private readonly now: () => number;
  private readonly random: (length: number) => Uint8Array;
  private readonly checkCode: CodeChecker;
  private readonly actor: string;
  #serviceId: string;
  #mailDomain: string;
  readonly #auditKey: Uint8Array;
  readonly #apiKeyCacheMs: number;
  readonly #apiKeys = new Map<string, { row: ApiKeyRow; until: number }>();

  private constructor(
    readonly store: BankStore,
    private readonly masterKey: MasterKey,
    options: BankOptions,
    settings: { serviceId: string; mailDomain: string },
  ) {
    const { now, random, codeChecker, actor, apiKeyCacheSeconds, ...given } = options;
    this.#apiKeyCacheMs = Math.max(0, apiKeyCacheSeconds ?? 0) * 1000;
    // An option given as undefined keeps its default.
    const config = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<BankConfig>;
    this.config = { ...DEFAULT_CONFIG, ...config, otp: { ...DEFAULT_CONFIG.otp, ...config.otp } };
    this.now = () => Math.floor((now ?? (() => Date.now() / 1000))());
    this.random = random ?? ((length) => new Uint8Array(randomBytes(length)));
    this.checkCode = codeChecker ?? wasmCodeChecker();
    this.actor = actor ?? "in-process";
    this.#serviceId = settings.serviceId;
    this.#mailDomain = settings.mailDomain;
    this.#auditKey = masterKey.deriveKey("audit chain v1");
  }

  /**
   * Opens the bank over a store: checks the master key against the value sealed in the database at
   * its first use (a wrong key fails here, not at the first login), gives the store the audit
   * chain's key and reads the bank's settings.
   */
  static async open(store: BankStore, masterKey: MasterKey, options: BankOptions = {}): Promise<Bank> {
    const { otp } = options;
    if (otp) {
      const problem = otpParametersProblem({ ...DEFAULT_CONFIG.otp, ...otp });
      if (problem) throw new BankError("otp-parameters", `the bank's default OTP parameters are unusable: ${problem}`);
    }
    const settings = await store.transaction(async (tx) => {
      const stored = await tx.initMeta(KEY_CHECK, masterKey.seal(new Uint8Array(16), aad.keyCheck()));
      try {
        masterKey.open(stored, aad.keyCheck());
      } catch {
        throw new BankError(
          "master-key",
          "the master key is not the one this bank database was created with: give the right --master-key-file or OTP_BANK_MASTER_KEY",
        );
      }
      return {
        serviceId: (await tx.getSetting("service_id")) ?? "",
        mailDomain: (await tx.getSetting("mail_domain")) ?? DEFAULT_MAIL_DOMAIN,
      };
    });
    const bank = new Bank(store, masterKey, options, settings);
    await store.useAuditKey(bank.#auditKey);
    return bank;
  }

  /** The bank's Service ID (8 digits, the same for every customer). */
  get serviceId(): string {
    return this.#serviceId;
  }

  /** The domain set-up mails are sent from: customers let it through their mail filter. */
  get mailDomain(): string {
    return this.#mailDomain;
  }

  /** Changes the bank's settings (each instance reads them at start-up). Issued User IDs keep working. */
  async updateSettings(changes: { serviceId?: string; mailDomain?: string }, by = this.actor): Promise<void> {
    if (changes.serviceId !== undefined && !SERVICE_ID_PATTERN.test(changes.serviceId))
      throw new BankError("settings", "the Service ID must be 8 digits");
    if (changes.mailDomain !== undefined && !MAIL_DOMAIN_PATTERN.test(changes.mailDomain)) {
      throw new BankError("settings", "the mail domain must be a domain name such as bank.example (letters, digits, hyphens and dots)");
    }
    const now = this.now();
    await this.store.transaction(async (tx) => {
      const set: [SettingName, string | undefined][] = [
        ["service_id", changes.serviceId],
        ["mail_domain", changes.mailDomain],
      ];
      for (const [name, value] of set) {
        if (value === undefined) continue;
        await tx.setSetting(name, value);
        await this.event(tx, now, "setting", null, null, by, `${name} = ${value}`);
      }
    });
    if (changes.serviceId !== undefined) this.#serviceId = changes.serviceId;
    if (changes.mailDomain !== undefined) this.#mailDomain = changes.mailDomain;
  }

  private event(
    tx: StoreTx,
    at: number,
    kind: string,
    serviceId: string | null,
    userId: string | null,
    actor: string,
    detail?: string,
  ): Promise<void> {
    return tx.appendEvent({ at, kind, service_id: serviceId, user_id: userId, actor, detail: detail ?? null });
  }

  // ---- issue (procedure steps 2-3) ----

  /** "Issue token": validates the screen, creates the issue and its User ID, mails the set-up instructions. */
  async issue(input: IssueInput, by = this.actor): Promise<IssueResult> {
    validateMail(input.mail, input.mailConfirm);
    validatePassword(input.password, input.passwordConfirm);
    const otp = this.otpParameters(input.otp);
    if (input.userId !== undefined && (typeof input.userId !== "string" || !USER_ID_PATTERN.test(input.userId))) {
      throw new BankError("unknown", "no customer has this User ID: a re-set-up needs the User ID of the customer's current token");
    }
    if (!SERVICE_ID_PATTERN.test(this.#serviceId))
      throw new BankError("settings", "this bank has no Service ID: set one with 'otp-token bank settings --service-id ID'");
    const now = this.now();
    const expiresAt = now + this.config.issueTtlSeconds;
    const tokenExpiresAt = now + this.config.tokenLifetimeSeconds;
    const serviceId = this.#serviceId;
    const userId = unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<string>> => {
        // An expired issue keeps no secret: its password and pending seed go at the first touch after expiry.
        await tx.forgetExpired(now);
        const customer = input.userId !== undefined ? await tx.customerOf(input.userId) : await tx.insertCustomer(now);
        if (!customer) {
          return input.userId !== undefined
            ? {
                error: new BankError(
                  "unknown",
                  "no customer has this User ID: a re-set-up needs the User ID of the customer's current token",
                ),
              }
            : { error: new BankError("issue-numbers-used", "every 7-digit customer number is taken") };
        }
        if (customer.issues_made >= 999) {
          return { error: new BankError("issue-numbers-used", "this customer has had 999 token issues, the most a User ID can number") };
        }
        const customerNumber = customer.customer_number ?? (await tx.assignCustomerNumber(customer.customer_id));
        const issueNumber = await tx.nextIssueNumber(customer.customer_id);
        const userId = makeUserId(serviceId, customerNumber, issueNumber);
        if (await tx.userIdTaken(userId)) throw new Error(`User ID ${userId} is already taken: the customer numbers are inconsistent`);
        // "Back" on the issue screen issues again: the older pending issues of this customer stop working.
        for (const older of await tx.pendingIssuesOf(customer.customer_id)) {
          await tx.voidIssue(older.issue_id, "superseded");
          await this.event(tx, now, "issue-superseded", older.service_id, older.user_id, by, `by ${userId}`);
        }
        // CPace's PRS is the password itself (docs/activation.md): kept sealed until the issue is
        // completed, void or expired.
        const password = new Uint8Array(Buffer.from(input.password, "latin1"));
        const sealed = this.masterKey.seal(password, aad.activationPassword(serviceId, userId));
        password.fill(0);
        await tx.insertIssue({
          service_id: serviceId,
          user_id: userId,
          customer_id: customer.customer_id,
          issue_number: issueNumber,
          mail: input.mail,
          created_at: now,
          expires_at: expiresAt,
          token_expires_at: tokenExpiresAt,
          activation_key: sealed,
          ...otp,
        });
        await this.event(
          tx,
          now,
          "issued",
          serviceId,
          userId,
          by,
          `expires ${expiresAt}; token expires ${tokenExpiresAt}; ${otp.algorithm}/${otp.digits}/${otp.period}s`,
        );
        return { value: userId };
      }),
    );
    const result: IssueResult = { serviceId, userId, mail: input.mail, expiresAt, tokenExpiresAt };
    if (this.config.outboxDir !== undefined) {
      const message = await composeSetupMail({ domain: this.#mailDomain, to: input.mail, serviceId, userId, date: now, expiresAt });
      result.mailId = writeToOutbox(this.config.outboxDir, now, message);
      result.mailFile = `${this.config.outboxDir}/${result.mailId}`;
    }
    return result;
  }

  private otpParameters(overrides: Partial<OtpParameters> = {}): OtpParameters {
    const merged = { ...this.config.otp, ...overrides };
    let algorithm: OtpParameters["algorithm"];
    try {
      algorithm = algorithmName(merged.algorithm);
    } catch {
      throw new BankError("otp-parameters", "OTP algorithm must be SHA1, SHA256 or SHA512");
    }
    const otp = { ...merged, algorithm };
    const problem = otpParametersProblem(otp);
    if (problem) throw new BankError("otp-parameters", `OTP ${problem}`);
    return otp;
  }

  // ---- activation (docs/activation.md, "Rules", the bank) ----

  /**
   * 送信 on the token: answers an activation request (message 1) with message 2, or refuses it with a
   * BankError. A request answered before is answered again with the same message 2 and counts nothing.
   *
   * The bank cannot tell a wrong activation password (that is what CPace is for): the attempt is
   * counted here, and only the token's confirmation (`register`, message 3) takes it back. So
   * `attemptsLeft` is what remains if the token refuses this answer at 登録 (a wrong password):
   * 0 means this was the last attempt, and a refusal leaves the issue void.
   */
  async activate(requestBytes: Uint8Array, by = this.actor): Promise<ActivationAnswer> {
    let request: ActivationRequest;
    try {
      request = decodeRequest(requestBytes);
    } catch (error) {
      if (error instanceof ProtocolError) throw new BankError("malformed", `malformed activation request: ${error.message}`);
      throw error;
    }
    const { serviceId, userId } = request;
    const requestHash = sha256Bytes(requestBytes);
    const now = this.now();
    const limit = this.config.maxActivationFailures;
    // Rules 2-5, committed before any CPace work: a crash after this leaves the attempt counted.
    const counted = unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<{ answered: ActivationAnswer } | { issue: IssueRow; failures: number }>> => {
        // An expired issue keeps no secret: its password, its runs' secrets and its pending seed go at the first touch after expiry.
        await tx.forgetExpired(now);
        const issue = await tx.issueFor(serviceId, userId);
        // A repeated request of a live issue is answered again whatever the count: it is no new attempt.
        if (issue?.state === "pending" && now < issue.expires_at) {
          const repeated = await this.repeatedRequest(tx, issue, request.sid, requestHash);
          if (repeated) return "error" in repeated ? repeated : { value: repeated };
        }
        const refused = this.issueRefusal(issue, now);
        if (refused) {
          // The request after the last counted attempt voids the issue (its password is forgotten).
          if (refused.code === "issue-void" && issue?.state === "pending") {
            await tx.voidIssue(issue.issue_id, "failures");
            await this.event(tx, now, "issue-void", serviceId, userId, by, `failed attempts ${issue.failed_attempts}`);
          }
          return { error: refused };
        }
        // A pending issue of protocol v1 whose token awaits its first code: its K_AC was no password.
        if (issue!.activation_key === null) return { error: refuse("issue-void", NOTICES.issueVoid("protocol-v1"), { attemptsLeft: 0 }) };
        const failures = await tx.countIssueFailure(issue!.issue_id);
        return { value: { issue: issue!, failures } };
      }),
    );
    if ("answered" in counted) return counted.answered;
    const { issue, failures } = counted;
    const params: OtpParameters = { algorithm: issue.algorithm, digits: issue.digits, period: issue.period, label: issue.label };
    const password = this.masterKey.open(issue.activation_key!, aad.activationPassword(serviceId, userId));
    let session: BankSession;
    try {
      session = answerRequest(request, password, params, this.random);
    } catch (error) {
      // Ya is a low-order point: CPace aborts (rule 6; the attempt stays counted).
      if (error instanceof ProtocolError) throw new BankError("malformed", `malformed activation request: ${error.message}`);
      throw error;
    } finally {
      password.fill(0);
    }
    const serial = serialHex(request.serial);
    const secrets = Buffer.concat([session.expectedTokenTag, session.seed]);
    const sealed = this.masterKey.seal(secrets, aad.activationSession(serviceId, userId, serial, request.sid));
    secrets.fill(0);
    session.seed.fill(0);
    session.expectedTokenTag.fill(0);
    return unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<ActivationAnswer>> => {
        // Re-checked under the lock: another process may have voided or completed the issue, or answered
        // the same request, meanwhile (then its answer stands and this attempt is taken back).
        const current = await tx.issueFor(serviceId, userId);
        const refused = this.issueRefusal(current, now, 1);
        if (refused) return { error: refused };
        const inserted = await tx.insertActivationSession({
          issue_id: issue.issue_id,
          sid: request.sid,
          request_hash: requestHash,
          serial,
          response: session.response,
          secrets: sealed,
          answered_at: now,
        });
        if (!inserted) {
          await tx.uncountIssueFailure(issue.issue_id);
          const earlier = await this.repeatedRequest(
            tx,
            { ...current!, failed_attempts: current!.failed_attempts - 1 },
            request.sid,
            requestHash,
          );
          return earlier && "error" in earlier ? earlier : { value: earlier!.answered };
        }
        await this.event(
          tx,
          now,
          "activation-answered",
          serviceId,
          userId,
          by,
          `serial ${serial}; failed attempts ${failures} until the token confirms`,
        );
        return { value: { response: session.response, attemptsLeft: Math.max(limit - failures, 0) } };
      }),
    );
  }

  /**
   * A request whose session id this issue has seen: the same bytes are answered again (nothing counted,
   * nothing changed); other bytes under that session id are refused, also without counting.
   */
  private async repeatedRequest(
    tx: StoreTx,
    issue: IssueRow,
    sid: Uint8Array,
    requestHash: Uint8Array,
  ): Promise<{ answered: ActivationAnswer } | { error: BankError } | null> {
    const session = await tx.getActivationSession(issue.issue_id, sid);
    if (!session) return null;
    if (tagsEqual(session.request_hash, requestHash)) {
      const attemptsLeft = Math.max(this.config.maxActivationFailures - issue.failed_attempts, 0);
      return { answered: { response: new Uint8Array(session.response), attemptsLeft } };
    }
    return {
      error: new BankError(
        "replayed",
        "this activation session was already answered for another request: start the activation again on the token",
      ),
    };
  }

  /**
   * 登録 on the token: its confirmation (message 3), which it sends after it has checked the bank's
   * confirmation and stored the profile. When Ta matches, the counted attempt is taken back and the
   * token becomes the issue's pending token, awaiting its first code (step 6). A confirmation already
   * accepted is accepted again without change. Returns the token's serial (16 hex digits).
   */
  async register(confirmationBytes: Uint8Array, by = this.actor): Promise<{ serial: string }> {
    let confirmation: ActivationConfirmation;
    try {
      confirmation = decodeConfirmation(confirmationBytes);
    } catch (error) {
      if (error instanceof ProtocolError) throw new BankError("malformed", `malformed activation confirmation: ${error.message}`);
      throw error;
    }
    const { serviceId, userId, sid } = confirmation;
    const now = this.now();
    return unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<{ serial: string }>> => {
        await tx.forgetExpired(now);
        const issue = await tx.issueFor(serviceId, userId);
        const session = issue ? await tx.getActivationSession(issue.issue_id, sid) : undefined;
        // An unconfirmed run's own attempt is still in the count: it may be the one that brings it to the limit.
        const refused = this.issueRefusal(issue, now, session && session.confirmed_at === null ? 1 : 0);
        if (refused) return { error: refused };
        if (!session || session.secrets === null) {
          return {
            error: new BankError("unknown", "no activation of this issue has this session: send the activation from the token again"),
          };
        }
        const secrets = this.masterKey.open(session.secrets, aad.activationSession(serviceId, userId, session.serial, sid));
        try {
          if (!tagsEqual(secrets.subarray(0, TAG_BYTES), confirmation.tag)) {
            await this.event(tx, now, "activation-wrong-confirmation", serviceId, userId, by, `serial ${session.serial}`);
            return { error: refuse("wrong-confirmation", NOTICES.wrongConfirmation()) };
          }
          if (session.confirmed_at !== null) return { value: { serial: session.serial } };
          const seed = secrets.subarray(TAG_BYTES, TAG_BYTES + SEED_BYTES[issue!.algorithm]);
          await tx.uncountIssueFailure(issue!.issue_id);
          await tx.confirmActivationSession(issue!.issue_id, sid, now);
          await tx.setPendingToken(
            issue!.issue_id,
            session.serial,
            this.masterKey.seal(seed, aad.pendingSeed(serviceId, userId, session.serial)),
            now,
          );
          await this.event(tx, now, "activated", serviceId, userId, by, `serial ${session.serial}; awaiting first code`);
          return { value: { serial: session.serial } };
        } finally {
          secrets.fill(0);
        }
      }),
    );
  }

  /**
   * Why an activation message or a first code for this issue is refused before anything is computed, or
   * null. `ownAttempt` = 1 when the count already includes the attempt being decided.
   */
  private issueRefusal(issue: IssueRow | undefined, now: number, ownAttempt = 0): BankError | null {
    const limit = this.config.maxActivationFailures;
    if (!issue) return refuse("unknown", NOTICES.noIssue());
    if (issue.state === "completed") return refuse("already-confirmed", NOTICES.alreadyConfirmed());
    if (issue.state === "void" || issue.failed_attempts - ownAttempt >= limit) {
      return refuse("issue-void", NOTICES.issueVoid(issue.void_reason ?? "failures"), { attemptsLeft: 0 });
    }
    if (now >= issue.expires_at) return refuse("expired", NOTICES.issueExpired());
    return null;
  }

  // ---- confirmation (procedure step 6) ----

  /**
   * "認証確認" on the bank's screen: the first code of the activated token. On success, in one
   * transaction, the token becomes the customer's token at this User ID (replacing any previous
   * one), the issue is completed and its activation password deleted. A wrong code counts toward the
   * same limit as unconfirmed activations (maxActivationFailures), after which the issue is void.
   */
  async confirm(userId: string, code: string, by = this.actor): Promise<VerifyResult> {
    const now = this.now();
    const limit = this.config.maxActivationFailures;
    return unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<VerifyResult>> => {
        await tx.forgetExpired(now);
        const issue = typeof userId === "string" && USER_ID_PATTERN.test(userId) ? await tx.latestIssue(userId) : undefined;
        const refused = this.issueRefusal(issue, now);
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
        const seed = this.masterKey.open(pending.pending_seed, aad.pendingSeed(pending.service_id, userId, pending.pending_serial));
        try {
          const currentStep = Math.floor(now / params.period);
          const matched = this.checkCode(seed, params, code, currentStep, this.config.window);
          if (matched === null) {
            const failures = await tx.countIssueFailure(pending.issue_id);
            const voided = failures >= limit;
            if (voided) await tx.voidIssue(pending.issue_id, "failures");
            await this.event(
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
          const driftSteps = this.config.trackDrift ? matched - currentStep : 0;
          await tx.replaceToken({
            user_id: userId,
            customer_id: pending.customer_id,
            issue_id: pending.issue_id,
            service_id: pending.service_id,
            serial: pending.pending_serial,
            seed: this.masterKey.seal(seed, aad.seed(pending.service_id, userId, pending.pending_serial)),
            ...params,
            drift_steps: driftSteps,
            last_step: matched,
            activated_at: now,
            expires_at: pending.token_expires_at,
          });
          await tx.completeIssue(pending.issue_id, now);
          if (previous)
            await this.event(
              tx,
              now,
              "token-replaced",
              previous.service_id,
              previous.user_id,
              by,
              `serial ${previous.serial} replaced by ${pending.pending_serial} at ${userId}`,
            );
          await this.event(
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

  // ---- verifier ----

  /** A login code: RFC 6238 within ±window steps around the recorded drift; each step accepted at most once. */
  async verify(userId: string, code: string, by = this.actor): Promise<VerifyResult> {
    const now = this.now();
    return unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<VerifyResult>> => {
        const found = await this.usableToken(tx, userId, now, by, [code]);
        if ("error" in found) return found;
        const token = found.value;
        const { currentStep, expected } = this.steps(token, now);
        const matched = this.withSeed(token, (seed) => this.checkCode(seed, tokenParams(token), code, expected, this.config.window));
        if (matched === null) return { error: await this.failure(tx, token, now, by, "wrong-code") };
        if (matched <= token.last_step) return { error: await this.failure(tx, token, now, by, "replayed") };
        const driftSteps = this.config.trackDrift ? matched - currentStep : token.drift_steps;
        await tx.recordTokenSuccess(userId, driftSteps, matched, now);
        await this.event(
          tx,
          now,
          "login",
          token.service_id,
          userId,
          by,
          `offset ${matched - expected}; drift ${token.drift_steps} -> ${driftSteps}`,
        );
        return { value: { ok: true, offset: matched - expected, driftSteps, step: matched } };
      }),
    );
  }

  /**
   * Resynchronisation: two consecutive codes (steps s and s+1, both after the last accepted step)
   * anywhere within ±resyncWindow steps around the recorded drift. Refused for a locked token: only
   * an administrator unlocks, so a guesser who locked it gains nothing from a wider window.
   */
  async resync(userId: string, code1: string, code2: string, by = this.actor): Promise<VerifyResult> {
    const now = this.now();
    return unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<VerifyResult>> => {
        const found = await this.usableToken(tx, userId, now, by, [code1, code2]);
        if ("error" in found) return found;
        const token = found.value;
        const params = tokenParams(token);
        const { currentStep, expected } = this.steps(token, now);
        // Every step where code1 matches (a 6-digit code can match more than one of 21 steps), then code2 right after.
        const step = this.withSeed(token, (seed) => {
          for (let s = Math.max(expected - this.config.resyncWindow, token.last_step + 1); s <= expected + this.config.resyncWindow; s++) {
            if (this.checkCode(seed, params, code1, s, 0) === s && this.checkCode(seed, params, code2, s + 1, 0) === s + 1) return s;
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
        await this.event(tx, now, "resync", token.service_id, userId, by, `drift ${token.drift_steps} -> ${driftSteps} steps`);
        return { value: { ok: true, offset: step + 1 - expected, driftSteps, step: step + 1 } };
      }),
    );
  }

  /** The bank's step now, and the step the token should show now given its recorded drift. */
  private steps(token: TokenRow, now: number): { currentStep: number; expected: number } {
    const currentStep = Math.floor(now / token.period);
    return { currentStep, expected: currentStep + (this.config.trackDrift ? token.drift_steps : 0) };
  }

  /** Seconds without checks after the k-th consecutive failure. */
  throttleDelay(failures: number): number {
    return Math.min(this.config.throttleBaseSeconds * 2 ** Math.max(failures - 1, 0), this.config.throttleMaxSeconds);
  }

  /**
   * The token at `userId` if `codes` may be checked for it now: not revoked, suspended, locked or
   * expired, the codes of its length (a typo of the wrong length is not a guess, and not throttled),
   * and not throttled.
   */
  private async usableToken(tx: StoreTx, userId: string, now: number, by: string, codes: string[]): Promise<Outcome<TokenRow>> {
    const token = typeof userId === "string" && USER_ID_PATTERN.test(userId) ? await tx.getToken(userId) : undefined;
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
      await this.event(tx, now, "throttled", token.service_id, userId, by, `retry after ${wait} s`);
      return {
        error: refuse("throttled", NOTICES.throttled(wait), {
          retryAfterSeconds: wait,
          attemptsLeft: this.config.lockoutThreshold - token.consecutive_failures,
        }),
      };
    }
    return { value: token };
  }

  private async lifecycleToken(tx: StoreTx, userId: string): Promise<Outcome<TokenRow>> {
    const token = typeof userId === "string" && USER_ID_PATTERN.test(userId) ? await tx.getToken(userId) : undefined;
    return token ? { value: token } : { error: refuse("unknown", NOTICES.noToken()) };
  }

  /** An administrator clears the lock, the failure count and the throttling delay (audit-logged). */
  async unlock(userId: string, by = this.actor): Promise<void> {
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
  async suspend(userId: string, by = this.actor): Promise<void> {
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
  async resume(userId: string, by = this.actor): Promise<void> {
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
  async revoke(userId: string, by = this.actor): Promise<void> {
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
    const now = this.now();
    unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<null>> => {
        const found = await this.lifecycleToken(tx, userId);
        if ("error" in found) return found;
        const why = refusal(found.value);
        if (why) return { error: new BankError("state", why) };
        const detail = await change(tx, found.value);
        await this.event(tx, now, kind, found.value.service_id, userId, by, detail ?? undefined);
        return { value: null };
      }),
    );
  }

  /** What the bank knows about this User ID, without secrets. */
  async status(userId: string): Promise<BankStatus> {
    if (typeof userId !== "string" || !USER_ID_PATTERN.test(userId)) throw refuse("unknown", NOTICES.noToken());
    const now = this.now();
    const [issue, token, customer] = await Promise.all([
      this.store.latestIssue(userId),
      this.store.getToken(userId),
      this.store.customerOf(userId),
    ]);
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
      events: (await this.store.eventsOf(userId, 20)).map(auditEvent),
    };
  }

  /** Counts of tokens by state, and the tokens due for renewal (expiring within renewalNoticeSeconds). */
  async overview(limit = 100): Promise<BankOverview> {
    const now = this.now();
    const [tokens, due] = await Promise.all([
      this.store.countTokens(),
      this.store.listTokens({ limit, expiringBefore: now + this.config.renewalNoticeSeconds }),
    ]);
    due.sort((a, b) => a.expires_at - b.expires_at);
    return {
      serviceId: this.#serviceId,
      mailDomain: this.#mailDomain,
      tokens,
      dueForRenewal: due.map((t) => ({ userId: t.user_id, serial: t.serial, state: t.state, expiresAt: t.expires_at })),
    };
  }

  // ---- API keys ----

  /** A new API key: the key is returned once; the store keeps its id, scope, name and the SHA-256 of its secret. */
  async createApiKey(scope: ApiScope, name: string, by = this.actor): Promise<ApiKeyInfo & { key: string }> {
    if (scope !== "login" && scope !== "admin") throw new BankError("settings", "the scope must be login or admin");
    if (typeof name !== "string" || name.length > 100 || !/^[\x20-\x7e\u00a0-\uffff]*$/.test(name))
      throw new BankError("settings", "the key's name must be at most 100 printable characters");
    const keyId = Array.from(this.random(8), (b) => ID_ALPHABET_HEX[b >> 4] + ID_ALPHABET_HEX[b & 15]).join("");
    const secret = Buffer.from(this.random(32)).toString("base64url");
    const now = this.now();
    await this.store.transaction(async (tx) => {
      await tx.insertApiKey({ key_id: keyId, name, scope, secret_hash: sha256(secret), created_at: now, revoked_at: null });
      await this.event(tx, now, "api-key-created", null, null, by, `${keyId} (${scope}) ${name}`);
    });
    return { keyId, name, scope, createdAt: now, revokedAt: null, key: `otpk_${keyId}_${secret}` };
  }

  async listApiKeys(): Promise<ApiKeyInfo[]> {
    return (await this.store.listApiKeys()).map(apiKeyInfo);
  }

  /** Revokes a key at once (for every instance: each request looks its key up). */
  async revokeApiKey(keyId: string, by = this.actor): Promise<void> {
    const now = this.now();
    unwrap(
      await this.store.transaction(async (tx): Promise<Outcome<null>> => {
        if (!(await tx.revokeApiKey(keyId, now))) return { error: new BankError("unknown", `no unrevoked API key has the id ${keyId}`) };
        await this.event(tx, now, "api-key-revoked", null, null, by, keyId);
        return { value: null };
      }),
    );
    this.#apiKeys.delete(keyId);
  }

  /** The key a bearer token names, if it is one of ours and not revoked (its secret compared in constant time). */
  async authenticate(key: string): Promise<ApiKeyInfo | null> {
    const match = API_KEY_PATTERN.exec(key);
    if (!match) return null;
    const row = await this.apiKeyRow(match[1]);
    if (!row || row.revoked_at !== null) return null;
    return timingSafeEqual(sha256(match[2]), row.secret_hash) ? apiKeyInfo(row) : null;
  }

  /** The stored row of an API key, from the cache while it is fresh (apiKeyCacheSeconds; monotonic clock). */
  private async apiKeyRow(keyId: string): Promise<ApiKeyRow | undefined> {
    if (this.#apiKeyCacheMs === 0) return this.store.getApiKey(keyId);
    const cached = this.#apiKeys.get(keyId);
    if (cached && cached.until > performance.now()) return cached.row;
    const row = await this.store.getApiKey(keyId);
    if (row) {
      if (this.#apiKeys.size >= API_KEY_CACHE_ENTRIES) this.#apiKeys.clear();
      this.#apiKeys.set(keyId, { row, until: performance.now() + this.#apiKeyCacheMs });
    } else {
      this.#apiKeys.delete(keyId);
    }
    return row;
  }

  // ---- the audit trail ----

  /** Events after `afterId`, oldest first. */
  async auditEvents(afterId = 0, limit = 100): Promise<AuditEvent[]> {
    return (await this.store.events(afterId, limit)).map(auditEvent);
  }

  /** Walks the whole trail and reports the first row that breaks the chain (host/bank/audit.ts). */
  async verifyAudit(pageSize = 1000): Promise<ChainReport> {
    const store = this.store;
    async function* pages(): AsyncIterable<EventRow[]> {
      let after = 0;
      for (;;) {
        const page = await store.events(after, pageSize);
        if (page.length === 0) return;
        yield page;
        after = page[page.length - 1].id;
      }
    }
    return verifyChain(this.#auditKey, pages());
  }

  /** Appends one event (for actions outside the bank's own methods, such as a PSKC export by the CLI). */
  async record(kind: string, userId: string | null, detail: string, by = this.actor): Promise<void> {
    const now = this.now();
    await this.store.transaction((tx) => this.event(tx, now, kind, null, userId, by, detail));
  }

  // ---- PSKC (host/bank/pskc.ts) ----

  /** Seeds of the tokens at `userIds` (every unrevoked token when omitted), in clear, for an encrypted PSKC export. */
  async exportSecrets(userIds: string[] | undefined, by = this.actor): Promise<TokenSecret[]> {
    const tokens: TokenRow[] = [];
    if (userIds) {
      for (const userId of userIds) {
        const token = USER_ID_PATTERN.test(userId) ? await this.store.getToken(userId) : undefined;
        if (!token) throw new BankError("unknown", `no token has the User ID ${userId}`);
        tokens.push(token);
      }
    } else {
      for (let after = ""; ; ) {
        const page = await this.store.listTokens({ afterUserId: after, limit: 1000 });
        if (page.length === 0) break;
        tokens.push(...page.filter((t) => t.state !== "revoked"));
        after = page[page.length - 1].user_id;
      }
    }
    await this.record(
      "pskc-export",
      null,
      `${tokens.length} token${tokens.length === 1 ? "" : "s"}: ${tokens
        .slice(0, 20)
        .map((t) => t.user_id)
        .join(", ")}${tokens.length > 20 ? ", ..." : ""}`,
      by,
    );
    return tokens.map((token) => ({
      userId: token.user_id,
      serviceId: token.service_id,
      serial: token.serial,
      seed: this.masterKey.open(token.seed, aad.seed(token.service_id, token.user_id, token.serial)),
      params: tokenParams(token),
      driftSteps: token.drift_steps,
      activatedAt: token.activated_at,
      expiresAt: token.expires_at,
    }));
  }

  /**
   * Stores imported tokens, all or none. A token with a User ID keeps it (a new customer is made for
   * it); one without gets a new customer and User ID. A User ID already present is refused:
   * nothing stored is replaced.
   */
  async importSecrets(
    tokens: { userId?: string; serial: string; seed: Uint8Array; params: OtpParameters; expiresAt?: number }[],
    by = this.actor,
  ): Promise<{ userId: string; serial: string }[]> {
    const now = this.now();
    const serviceId = this.#serviceId;
    // A refusal throws inside the transaction: it rolls back, so nothing of the document is stored.
    return this.store.transaction(async (tx) => {
      const done: { userId: string; serial: string }[] = [];
      for (const token of tokens) {
        const problem = otpParametersProblem(token.params);
        if (problem) throw new BankError("pskc", `the token ${token.serial}: ${problem}`);
        let userId = token.userId;
        let customer: CustomerRow | null | undefined;
        if (userId !== undefined) {
          if (!USER_ID_PATTERN.test(userId))
            throw new BankError(
              "pskc",
              `the token ${token.serial}: User ID ${JSON.stringify(userId)} is not 16 upper-case letters or digits`,
            );
          if (await tx.userIdTaken(userId))
            throw new BankError("pskc", `the User ID ${userId} (token ${token.serial}) already exists in this bank: nothing was imported`);
          const form = USER_ID_FORM.exec(userId);
          customer = form
            ? ((await tx.customerByNumber(form[2])) ?? (await tx.insertCustomer(now, form[2])))
            : await tx.insertCustomer(now);
          if (customer && (await tx.tokenOfCustomer(customer.customer_id))) {
            throw new BankError("pskc", `the customer of ${userId} (token ${token.serial}) already has a token: nothing was imported`);
          }
          // The customer's next issue gets a higher issue number than the imported User ID's.
          if (customer && form) await tx.raiseIssueNumber(customer.customer_id, Number(form[3]));
        } else {
          customer = await tx.insertCustomer(now);
          if (customer) userId = makeUserId(serviceId, customer.customer_number!, await tx.nextIssueNumber(customer.customer_id));
        }
        if (!customer || userId === undefined) throw new BankError("pskc", "every 7-digit customer number is taken");
        const row: NewToken = {
          user_id: userId,
          customer_id: customer.customer_id,
          issue_id: null,
          service_id: serviceId,
          serial: token.serial,
          seed: this.masterKey.seal(token.seed, aad.seed(serviceId, userId, token.serial)),
          ...token.params,
          drift_steps: 0,
          last_step: Math.floor(now / token.params.period) - 1,
          activated_at: now,
          expires_at: token.expiresAt ?? now + this.config.tokenLifetimeSeconds,
        };
        await tx.replaceToken(row);
        await this.event(tx, now, "pskc-import", serviceId, userId, by, `serial ${token.serial}`);
        done.push({ userId, serial: token.serial });
      }
      return done;
    });
  }

  private withSeed<T>(token: TokenRow, use: (seed: Uint8Array) => T): T {
    const seed = this.masterKey.open(token.seed, aad.seed(token.service_id, token.user_id, token.serial));
    try {
      return use(seed);
    } finally {
      seed.fill(0);
    }
  }

  /** Counts a failed verification (committed with the transaction), throttles the next check, and says whether it locked the token. */
  private async failure(
    tx: StoreTx,
    token: TokenRow,
    now: number,
    by: string,
    code: "wrong-code" | "replayed",
    message?: string,
  ): Promise<BankError> {
    const threshold = this.config.lockoutThreshold;
    const delay = this.throttleDelay(token.consecutive_failures + 1);
    // No delay configured: no check time at all (a racing request that read the clock a second later must not throttle one that read it earlier).
    const { failures, locked } = await tx.recordTokenFailure(token.user_id, threshold, delay > 0 ? now + delay : 0);
    await this.event(
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

function sha256(text: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(text, "utf8").digest());
}

function sha256Bytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

function apiKeyInfo(row: ApiKeyRow): ApiKeyInfo {
  return { keyId: row.key_id, name: row.name, scope: row.scope, createdAt: row.created_at, revokedAt: row.revoked_at };
}

function auditEvent(e: EventRow): AuditEvent {
  return { id: e.id, at: e.at, kind: e.kind, serviceId: e.service_id, userId: e.user_id, actor: e.actor, detail: e.detail };
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

function tokenParams(token: TokenRow): OtpParameters {
  return { algorithm: token.algorithm, digits: token.digits, period: token.period, label: token.label };
}

function codeFormatError(code: string, digits: number): BankError | null {
  if (typeof code !== "string" || code.length !== digits || !/^[0-9]+$/.test(code)) {
    return new BankError("invalid-code", `the code must be exactly ${digits} digits`, {
      ja: `ワンタイムパスワードは半角数字${digits}桁で入力してください。`,
    });
  }
  return null;
}

/** The issue screen's mail rules, one error each (docs/design.md, "Reference values"). */
const MAIL_MESSAGES = {
  "mail-length": "mail address must be 4-64 characters",
  "mail-characters": "mail address must be half-width letters, digits and symbols only (no spaces or full-width characters)",
  "mail-format": "mail address must look like name@example.jp: one '@', with a name before it and a domain after it",
} as const;

const PASSWORD_MESSAGES = {
  "password-length": "activation password must be 4-8 characters",
  "password-characters": "activation password must be half-width letters and digits only",
} as const;

/** The issue screen's mail rules (host/identity.ts), each with its own code and message. */
export function validateMail(mail: string, confirm: string): void {
  const problem = mailProblem(mail);
  if (problem) throw new BankError(problem, MAIL_MESSAGES[problem]);
  if (confirm !== mail) throw new BankError("mail-mismatch", "the two mail addresses differ: type the same address twice");
}

/** The issue screen's activation password rules (host/identity.ts), each with its own code and message. */
export function validatePassword(password: string, confirm: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new BankError(problem, PASSWORD_MESSAGES[problem]);
  if (confirm !== password) throw new BankError("password-mismatch", "the two activation passwords differ: type the same password twice");
}
