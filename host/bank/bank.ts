// The bank side of the procedure (DESIGN.md, "The procedure it implements"): token issue (step 2-3),
// the activation server (docs/activation.md, "Rules"), the first-code confirmation that
// makes a token active (step 6), and the verifier (DESIGN.md, "Verifier"; RFC 6238 §5.2 window and
// drift, §5.2 "MUST NOT accept the second attempt of the same OTP").
//
// Every check that reads state and then writes it runs inside ONE `BEGIN IMMEDIATE` transaction
// (BankStore.immediate): SQLite's write lock is taken before the read, so two processes cannot both
// pass a check on the same row. Counters that guard against guessing are committed before the
// refusal is thrown (a refused check returns its error out of the transaction, then it is thrown).
import { createHash, randomBytes } from "node:crypto";
import { algorithmName, otpApi, type OtpApi } from "../otp.js";
import { aad, MasterKey } from "./crypto.js";
import { BankError } from "./errors.js";
import { composeSetupMail, writeToOutbox } from "./mail.js";
import {
  answerRequest, decodeConfirmation, decodeRequest, MAX_ACTIVATION_FAILURES, type OtpParameters, otpParametersProblem,
  ProtocolError, SEED_BYTES, SERVICE_ID_PATTERN, tagsEqual, TAG_BYTES, USER_ID_PATTERN,
} from "./protocol.js";
import type { BankStore, IssueRow, TokenRow } from "./store.js";
import { mailProblem, passwordProblem } from "../identity.js";

export interface BankConfig {
  /** Seconds an issue can be activated and confirmed after it is made. */
  issueTtlSeconds: number;
  /** Unconfirmed activation attempts (and wrong first codes at confirm) after which an issue is void. */
  maxActivationFailures: number;
  /** Steps accepted each way around the token's recorded drift at login. */
  window: number;
  /** Consecutive failed verifications that lock a token until an administrator unlocks it. */
  lockoutThreshold: number;
  /** Steps searched each way around the recorded drift by resync. */
  resyncWindow: number;
  /** Follow the token's clock: centre the window on the drift seen at the last success. */
  trackDrift: boolean;
  /** Folder for set-up mails; none are written when unset. */
  outboxDir?: string;
  /** OTP parameters given to new tokens unless an issue says otherwise. */
  otp: OtpParameters;
  /** The token set-up URL; "?service=...&user=..." is appended. */
  setupUrl: string;
  /** The From header of set-up mails. */
  mailFrom: string;
}

export const DEFAULT_CONFIG: Readonly<BankConfig> = {
  issueTtlSeconds: 86400,
  maxActivationFailures: MAX_ACTIVATION_FAILURES,
  window: 1,
  lockoutThreshold: 10,
  resyncWindow: 10,
  trackDrift: true,
  otp: { algorithm: "SHA1", digits: 6, period: 60, label: "BANK" },
  setupUrl: "https://bank.example/otp/setup",
  mailFrom: "Internet Banking <no-reply@bank.example>",
};

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
  /** Cryptographically secure random bytes; default node:crypto randomBytes. (X25519 keys come from node's own CSPRNG.) */
  random?: (length: number) => Uint8Array;
  codeChecker?: CodeChecker;
}

export interface IssueInput {
  mail: string;
  mailConfirm: string;
  password: string;
  passwordConfirm: string;
  /** OTP parameters for this token; unset fields come from the bank's config. */
  otp?: Partial<OtpParameters>;
  /** A re-set-up: the User ID of the customer's current token. Omitted for a new customer (a User ID is generated). */
  userId?: string;
}

export interface IssueResult {
  serviceId: string;
  userId: string;
  mail: string;
  setupUrl: string;
  /** Unix seconds. */
  expiresAt: number;
  /** The set-up mail's file, when an outbox is configured. */
  mailFile?: string;
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
  serial: string;
  algorithm: string;
  digits: number;
  period: number;
  label: string;
  driftSteps: number;
  lastStep: number;
  consecutiveFailures: number;
  locked: boolean;
  activatedAt: number;
  lastSuccessAt: number | null;
}

export interface IssueStatus {
  mail: string;
  state: "pending" | "void" | "completed";
  voidReason: string | null;
  createdAt: number;
  expiresAt: number;
  expired: boolean;
  failedAttempts: number;
  /** Serial of the activated token awaiting its first code, if any. */
  pendingSerial: string | null;
}

export interface BankStatus {
  serviceId: string;
  userId: string;
  issue: IssueStatus | null;
  /** The active token, when it belongs to this Service ID (a confirmed re-set-up moves it to the new one). */
  token: TokenStatus | null;
  events: { at: number; kind: string; serviceId: string | null; detail: string | null }[];
}

const ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const KEY_CHECK = "master-key-check";

type Outcome<T> = { value: T } | { error: BankError };

function unwrap<T>(outcome: Outcome<T>): T {
  if ("error" in outcome) throw outcome.error;
  return outcome.value;
}

const serialHex = (serial: bigint) => serial.toString(16).padStart(16, "0").toUpperCase();

export class Bank {
  readonly config: Readonly<BankConfig>;
  private readonly now: () => number;
  private readonly random: (length: number) => Uint8Array;
  private readonly checkCode: CodeChecker;

  constructor(
    readonly store: BankStore,
    private readonly masterKey: MasterKey,
    options: BankOptions = {},
  ) {
    const { now, random, codeChecker, ...given } = options;
    // An option given as undefined keeps its default.
    const config = Object.fromEntries(Object.entries(given).filter(([, value]) => value !== undefined)) as Partial<BankConfig>;
    this.config = { ...DEFAULT_CONFIG, ...config, otp: { ...DEFAULT_CONFIG.otp, ...config.otp } };
    this.now = () => Math.floor((now ?? (() => Date.now() / 1000))());
    this.random = random ?? ((length) => new Uint8Array(randomBytes(length)));
    this.checkCode = codeChecker ?? wasmCodeChecker();
    const problem = otpParametersProblem(this.config.otp);
    if (problem) throw new BankError("otp-parameters", `the bank's default OTP parameters are unusable: ${problem}`);
    this.checkMasterKey();
  }

  /** A wrong master key is refused at start-up, not at the first login: the database keeps a value sealed under it. */
  private checkMasterKey(): void {
    const stored = this.store.initMeta(KEY_CHECK, this.masterKey.seal(new Uint8Array(16), aad.keyCheck()));
    try {
      this.masterKey.open(stored, aad.keyCheck());
    } catch {
      throw new BankError("master-key", "the master key is not the one this bank database was created with: give the right --master-key-file or OTP_BANK_MASTER_KEY");
    }
  }

  // ---- issue (procedure steps 2-3) ----

  /** "Issue token": validates the screen, creates the issue, mails the set-up URL. */
  issue(input: IssueInput): IssueResult {
    validateMail(input.mail, input.mailConfirm);
    validatePassword(input.password, input.passwordConfirm);
    const otp = this.otpParameters(input.otp);
    const now = this.now();
    const expiresAt = now + this.config.issueTtlSeconds;
    const { serviceId, userId } = unwrap(
      this.store.immediate((): Outcome<{ serviceId: string; userId: string }> => {
        // An expired issue keeps no secret: its password and pending seed go at the first touch after expiry.
        this.store.forgetExpired(now);
        let userId: string;
        if (input.userId !== undefined) {
          if (!USER_ID_PATTERN.test(input.userId) || !this.store.userExists(input.userId)) {
            return { error: new BankError("unknown", "no customer has this User ID: a re-set-up needs the User ID of the current token") };
          }
          userId = input.userId;
        } else {
          do userId = this.randomId(16, ID_ALPHABET);
          while (!this.store.insertUser(userId, now));
        }
        let serviceId: string;
        do serviceId = this.randomId(1, "123456789") + this.randomId(7, "0123456789");
        while (this.store.serviceIdTaken(serviceId));
        // "Back" on the issue screen issues again: the older pending issues of this customer stop working.
        for (const older of this.store.pendingIssuesOf(userId)) {
          this.store.voidIssue(older.service_id, "superseded");
          this.store.addEvent(now, "issue-superseded", older.service_id, userId);
        }
        // CPace's PRS is the password itself (docs/activation.md): kept sealed until the issue is
        // completed, void or expired.
        const password = new Uint8Array(Buffer.from(input.password, "latin1"));
        const sealed = this.masterKey.seal(password, aad.activationPassword(serviceId, userId));
        password.fill(0);
        this.store.insertIssue({ service_id: serviceId, user_id: userId, mail: input.mail, created_at: now, expires_at: expiresAt, activation_key: sealed, ...otp });
        this.store.addEvent(now, "issued", serviceId, userId, `expires ${expiresAt}; ${otp.algorithm}/${otp.digits}/${otp.period}s`);
        return { value: { serviceId, userId } };
      }),
    );
    const setupUrl = `${this.config.setupUrl}?service=${serviceId}&user=${userId}`;
    const result: IssueResult = { serviceId, userId, mail: input.mail, setupUrl, expiresAt };
    if (this.config.outboxDir !== undefined) {
      const messageId = `${Buffer.from(this.random(16)).toString("hex")}@${this.config.mailFrom.match(/@([^>\s]+)/)?.[1] ?? "bank.invalid"}`;
      const text = composeSetupMail({ from: this.config.mailFrom, to: input.mail, serviceId, userId, setupUrl, date: now, expiresAt, messageId });
      result.mailFile = writeToOutbox(this.config.outboxDir, `${now}-${serviceId}.eml`, text);
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

  /** `length` characters from `alphabet`, uniformly (rejection sampling: no modulo bias). */
  private randomId(length: number, alphabet: string): string {
    const limit = 256 - (256 % alphabet.length);
    let out = "";
    while (out.length < length) {
      for (const byte of this.random(length * 2)) {
        if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
      }
    }
    return out;
  }

  // ---- activation (docs/activation.md, "Rules: the bank") ----

  /**
   * "Send" on the token: answers an activation request (message 1) with message 2, or refuses it with a
   * BankError. A request answered before is answered again with the same message 2 and counts nothing.
   */
  activate(requestBytes: Uint8Array): Uint8Array {
    let request;
    try {
      request = decodeRequest(requestBytes);
    } catch (error) {
      if (error instanceof ProtocolError) throw new BankError("malformed", `malformed activation request: ${error.message}`);
      throw error;
    }
    const { serviceId, userId } = request;
    const requestHash = sha256(requestBytes);
    const now = this.now();
    // Rules 2-4, committed before any CPace work: a crash after this leaves the attempt counted.
    const counted = unwrap(
      this.store.immediate((): Outcome<{ answered: Uint8Array } | { issue: IssueRow; failures: number }> => {
        // An expired issue keeps no secret: its password and pending seed go at the first touch after expiry.
        this.store.forgetExpired(now);
        const issue = this.store.getIssue(serviceId, userId);
        // A repeated request of a live issue is answered again whatever the count: it is no new attempt.
        if (issue?.state === "pending" && now < issue.expires_at) {
          const repeated = this.repeatedRequest(serviceId, request.sid, requestHash);
          if (repeated) return repeated;
        }
        const refused = this.issueRefusal(issue, now);
        if (refused) {
          if (refused.code === "locked" && issue?.state === "pending") {
            this.store.voidIssue(serviceId, "failures");
            this.store.addEvent(now, "issue-void", serviceId, userId, `failed attempts ${issue.failed_attempts}`);
          }
          return { error: refused };
        }
        const failures = this.store.countIssueFailure(serviceId);
        return { value: { issue: issue!, failures } };
      }),
    );
    if ("answered" in counted) return counted.answered;
    const issue = counted.issue;
    const params: OtpParameters = { algorithm: issue.algorithm, digits: issue.digits, period: issue.period, label: issue.label };
    const password = this.masterKey.open(issue.activation_key!, aad.activationPassword(serviceId, userId));
    let session;
    try {
      session = answerRequest(request, password, params, this.random);
    } catch (error) {
      // Ya is a low-order point: CPace aborts (the attempt stays counted).
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
      this.store.immediate((): Outcome<Uint8Array> => {
        // Re-checked under the lock: another process may have voided or completed the issue, or answered
        // the same request, meanwhile (then its answer stands and this attempt is taken back).
        const refused = this.issueRefusal(this.store.getIssue(serviceId, userId), now, 1);
        if (refused) return { error: refused };
        const inserted = this.store.insertActivationSession({
          service_id: serviceId, sid: request.sid, request_hash: requestHash, serial, response: session.response, secrets: sealed, answered_at: now,
        });
        if (!inserted) {
          this.store.uncountIssueFailure(serviceId);
          const earlier = this.repeatedRequest(serviceId, request.sid, requestHash)!;
          return "error" in earlier ? earlier : { value: earlier.value.answered };
        }
        this.store.addEvent(now, "activation-answered", serviceId, userId, `serial ${serial}; failed attempts ${counted.failures} until the token confirms`);
        return { value: session.response };
      }),
    );
  }

  /**
   * A request whose session id this issue has seen: the same bytes are answered again (nothing counted,
   * nothing changed); other bytes under that session id are refused, also without counting.
   */
  private repeatedRequest(serviceId: string, sid: Uint8Array, requestHash: Uint8Array): { value: { answered: Uint8Array } } | { error: BankError } | null {
    const session = this.store.getActivationSession(serviceId, sid);
    if (!session) return null;
    if (tagsEqual(session.request_hash, requestHash)) return { value: { answered: new Uint8Array(session.response) } };
    return { error: new BankError("replayed", "this activation session was already answered for another request: start the activation again on the token") };
  }

  /**
   * "Register" on the token: the token's confirmation (message 3), which it sends after it has checked
   * the bank's confirmation and stored the profile. When Ta matches, the counted attempt is taken back
   * and the token becomes the issue's pending token, awaiting its first code (step 6). A confirmation
   * already accepted is accepted again without change. Returns the token's serial (16 hex digits).
   */
  register(confirmationBytes: Uint8Array): { serial: string } {
    let confirmation;
    try {
      confirmation = decodeConfirmation(confirmationBytes);
    } catch (error) {
      if (error instanceof ProtocolError) throw new BankError("malformed", `malformed activation confirmation: ${error.message}`);
      throw error;
    }
    const { serviceId, userId, sid } = confirmation;
    const now = this.now();
    return unwrap(
      this.store.immediate((): Outcome<{ serial: string }> => {
        this.store.forgetExpired(now);
        const issue = this.store.getIssue(serviceId, userId);
        const session = issue ? this.store.getActivationSession(serviceId, sid) : undefined;
        const refused = this.issueRefusal(issue, now, session && session.confirmed_at === null ? 1 : 0);
        if (refused) return { error: refused };
        if (!session || session.secrets === null) {
          return { error: new BankError("unknown", "no activation of this issue has this session: send the activation from the token again") };
        }
        const secrets = this.masterKey.open(session.secrets, aad.activationSession(serviceId, userId, session.serial, sid));
        try {
          if (!tagsEqual(secrets.subarray(0, TAG_BYTES), confirmation.tag)) {
            this.store.addEvent(now, "activation-wrong-confirmation", serviceId, userId, `serial ${session.serial}`);
            return { error: new BankError("wrong-confirmation", "the token's confirmation does not match this activation (damaged or not from the token): register again") };
          }
          if (session.confirmed_at !== null) return { value: { serial: session.serial } };
          const seed = secrets.subarray(TAG_BYTES, TAG_BYTES + SEED_BYTES[issue!.algorithm]);
          this.store.uncountIssueFailure(serviceId);
          this.store.confirmActivationSession(serviceId, sid, now);
          this.store.setPendingToken(serviceId, session.serial, this.masterKey.seal(seed, aad.pendingSeed(serviceId, userId, session.serial)), now);
          this.store.addEvent(now, "activated", serviceId, userId, `serial ${session.serial}; awaiting first code`);
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
    if (!issue || issue.state === "completed") {
      return new BankError("unknown", "no pending token issue has this Service ID and User ID: check them, or issue a new token");
    }
    if (issue.state === "void" || issue.failed_attempts - ownAttempt >= this.config.maxActivationFailures) {
      return new BankError("locked", "this token issue is void (too many wrong attempts, or a newer issue replaced it): issue a new token");
    }
    if (now >= issue.expires_at) return new BankError("expired", "this token issue has expired: issue a new token");
    return null;
  }

  // ---- confirmation (procedure step 6) ----

  /**
   * "Confirm" on the bank's screen: the first code of the activated token. On success, in one
   * transaction, the token becomes the customer's active token (replacing any previous one), the
   * issue is completed and its activation password deleted. A wrong code counts toward the same limit
   * as activation attempts (maxActivationFailures), after which the issue is void.
   */
  confirm(serviceId: string, userId: string, code: string): VerifyResult {
    const now = this.now();
    return unwrap(
      this.store.immediate((): Outcome<VerifyResult> => {
        // An expired issue keeps no secret: its password and pending seed go at the first touch after expiry.
        this.store.forgetExpired(now);
        const issue = SERVICE_ID_PATTERN.test(serviceId) && USER_ID_PATTERN.test(userId) ? this.store.getIssue(serviceId, userId) : undefined;
        const refused = this.issueRefusal(issue, now);
        if (refused) return { error: refused };
        const pending = issue!;
        if (pending.pending_seed === null || pending.pending_serial === null) {
          return { error: new BankError("not-activated", "no token has been activated for this issue yet: register the token first, then type its code") };
        }
        const badFormat = codeFormatError(code, pending.digits);
        if (badFormat) return { error: badFormat };
        const params: OtpParameters = { algorithm: pending.algorithm, digits: pending.digits, period: pending.period, label: pending.label };
        const seed = this.masterKey.open(pending.pending_seed, aad.pendingSeed(serviceId, userId, pending.pending_serial));
        try {
          const currentStep = Math.floor(now / params.period);
          const matched = this.checkCode(seed, params, code, currentStep, this.config.window);
          if (matched === null) {
            const failures = this.store.countIssueFailure(serviceId);
            const voided = failures >= this.config.maxActivationFailures;
            if (voided) this.store.voidIssue(serviceId, "failures");
            this.store.addEvent(now, voided ? "issue-void" : "confirm-wrong-code", serviceId, userId, `failed attempts ${failures}`);
            const left = this.config.maxActivationFailures - failures;
            return {
              error: new BankError(
                "wrong-code",
                voided ? "wrong code; too many wrong attempts: this issue is now void, issue a new token" : `wrong code: type the code the token shows now (${left} attempt${left === 1 ? "" : "s"} left)`,
              ),
            };
          }
          const previous = this.store.getToken(userId);
          const driftSteps = this.config.trackDrift ? matched - currentStep : 0;
          this.store.replaceToken({
            user_id: userId,
            service_id: serviceId,
            serial: pending.pending_serial,
            seed: this.masterKey.seal(seed, aad.seed(serviceId, userId, pending.pending_serial)),
            ...params,
            drift_steps: driftSteps,
            last_step: matched,
            activated_at: now,
          });
          this.store.completeIssue(serviceId, now);
          if (previous) this.store.addEvent(now, "token-replaced", previous.service_id, userId, `serial ${previous.serial} replaced by ${pending.pending_serial}`);
          this.store.addEvent(now, "confirmed", serviceId, userId, `serial ${pending.pending_serial} active; drift ${driftSteps}`);
          return { value: { ok: true, offset: matched - currentStep, driftSteps, step: matched } };
        } finally {
          seed.fill(0);
        }
      }),
    );
  }

  // ---- verifier ----

  /** A login code: RFC 6238 within ±window steps around the recorded drift; each step accepted at most once. */
  verify(serviceId: string, userId: string, code: string): VerifyResult {
    const now = this.now();
    return unwrap(
      this.store.immediate((): Outcome<VerifyResult> => {
        const found = this.activeToken(serviceId, userId);
        if ("error" in found) return found;
        const token = found.value;
        const badFormat = codeFormatError(code, token.digits);
        if (badFormat) return { error: badFormat };
        const { currentStep, expected } = this.steps(token, now);
        const matched = this.withSeed(token, (seed) => this.checkCode(seed, tokenParams(token), code, expected, this.config.window));
        if (matched === null) return { error: this.failure(token, now, "wrong-code", "wrong code") };
        if (matched <= token.last_step) {
          return { error: this.failure(token, now, "replayed", "this code (or a later one) was already used: wait for the next code") };
        }
        const driftSteps = this.config.trackDrift ? matched - currentStep : token.drift_steps;
        this.store.recordTokenSuccess(userId, driftSteps, matched, now);
        if (driftSteps !== token.drift_steps) this.store.addEvent(now, "drift", serviceId, userId, `${token.drift_steps} -> ${driftSteps} steps`);
        return { value: { ok: true, offset: matched - expected, driftSteps, step: matched } };
      }),
    );
  }

  /**
   * Resynchronisation: two consecutive codes (steps s and s+1, both after the last accepted step)
   * anywhere within ±resyncWindow steps around the recorded drift. Refused for a locked token: only
   * an administrator unlocks, so a guesser who locked it gains nothing from a wider window.
   */
  resync(serviceId: string, userId: string, code1: string, code2: string): VerifyResult {
    const now = this.now();
    return unwrap(
      this.store.immediate((): Outcome<VerifyResult> => {
        const found = this.activeToken(serviceId, userId);
        if ("error" in found) return found;
        const token = found.value;
        const badFormat = codeFormatError(code1, token.digits) ?? codeFormatError(code2, token.digits);
        if (badFormat) return { error: badFormat };
        const params = tokenParams(token);
        const { currentStep, expected } = this.steps(token, now);
        // Every step where code1 matches (a 6-digit code can match more than one of 21 steps), then code2 right after.
        const step = this.withSeed(token, (seed) => {
          for (let s = Math.max(expected - this.config.resyncWindow, token.last_step + 1); s <= expected + this.config.resyncWindow; s++) {
            if (this.checkCode(seed, params, code1, s, 0) === s && this.checkCode(seed, params, code2, s + 1, 0) === s + 1) return s;
          }
          return null;
        });
        if (step === null) return { error: this.failure(token, now, "wrong-code", "the two codes are not consecutive codes of this token near the current time") };
        const driftSteps = step + 1 - currentStep;
        this.store.recordTokenSuccess(userId, driftSteps, step + 1, now);
        this.store.addEvent(now, "resync", serviceId, userId, `drift ${token.drift_steps} -> ${driftSteps} steps`);
        return { value: { ok: true, offset: step + 1 - expected, driftSteps, step: step + 1 } };
      }),
    );
  }

  /** The bank's step now, and the step the token should show now given its recorded drift. */
  private steps(token: TokenRow, now: number): { currentStep: number; expected: number } {
    const currentStep = Math.floor(now / token.period);
    return { currentStep, expected: currentStep + (this.config.trackDrift ? token.drift_steps : 0) };
  }

  /** An administrator clears the lock and the failure count (audit-logged). */
  unlock(serviceId: string, userId: string, by = "administrator"): void {
    const now = this.now();
    unwrap(
      this.store.immediate((): Outcome<null> => {
        const found = this.activeToken(serviceId, userId, true);
        if ("error" in found) return found;
        this.store.unlockToken(userId);
        this.store.addEvent(now, "unlocked", serviceId, userId, `by ${by}; had ${found.value.consecutive_failures} consecutive failures`);
        return { value: null };
      }),
    );
  }

  /** What the bank knows about this Service ID and User ID, without secrets. */
  status(serviceId: string, userId: string): BankStatus {
    const now = this.now();
    const issue = this.store.getIssue(serviceId, userId);
    const token = this.store.getToken(userId);
    const own = token && token.service_id === serviceId ? token : undefined;
    if (!issue && !own) throw new BankError("unknown", "nothing is known for this Service ID and User ID");
    return {
      serviceId,
      userId,
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
      token: own
        ? {
            serial: own.serial,
            algorithm: own.algorithm,
            digits: own.digits,
            period: own.period,
            label: own.label,
            driftSteps: own.drift_steps,
            lastStep: own.last_step,
            consecutiveFailures: own.consecutive_failures,
            locked: own.locked === 1,
            activatedAt: own.activated_at,
            lastSuccessAt: own.last_success_at,
          }
        : null,
      events: this.store.eventsOf(userId).map((e) => ({ at: e.at, kind: e.kind, serviceId: e.service_id, detail: e.detail })),
    };
  }

  private activeToken(serviceId: string, userId: string, evenIfLocked = false): Outcome<TokenRow> {
    const token = USER_ID_PATTERN.test(userId) ? this.store.getToken(userId) : undefined;
    if (!token || token.service_id !== serviceId) {
      return { error: new BankError("unknown", "no active token has this Service ID and User ID (a confirmed re-set-up replaces the old IDs)") };
    }
    if (token.locked === 1 && !evenIfLocked) {
      return { error: new BankError("locked", "this token is locked after too many wrong codes: ask the bank to unlock it") };
    }
    return { value: token };
  }

  private withSeed<T>(token: TokenRow, use: (seed: Uint8Array) => T): T {
    const seed = this.masterKey.open(token.seed, aad.seed(token.service_id, token.user_id, token.serial));
    try {
      return use(seed);
    } finally {
      seed.fill(0);
    }
  }

  /** Counts a failed verification (committed with the transaction) and says whether it locked the token. */
  private failure(token: TokenRow, now: number, code: "wrong-code" | "replayed", message: string): BankError {
    const { failures, locked } = this.store.recordTokenFailure(token.user_id, this.config.lockoutThreshold);
    this.store.addEvent(now, locked ? "locked" : code, token.service_id, token.user_id, `consecutive failures ${failures}`);
    return new BankError(code, locked ? `${message}; too many wrong codes: the token is now locked, ask the bank to unlock it` : message);
  }
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

function tokenParams(token: TokenRow): OtpParameters {
  return { algorithm: token.algorithm, digits: token.digits, period: token.period, label: token.label };
}

function codeFormatError(code: string, digits: number): BankError | null {
  if (typeof code !== "string" || code.length !== digits || !/^[0-9]+$/.test(code)) {
    return new BankError("invalid-code", `the code must be exactly ${digits} digits`);
  }
  return null;
}

/** The issue screen's mail rules, one error each (DESIGN.md, "Reference values"). */
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
