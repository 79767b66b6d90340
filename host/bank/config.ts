// The bank's configuration: the limits of the procedure (docs/design.md, "Verifier"), the code
// checker it verifies with, and what `Bank.open` takes besides the store and the master key.
import { algorithmName, otpApi, type OtpApi } from "../otp.js";
import { BankError } from "./errors.js";
import { MAX_ACTIVATION_FAILURES, type OtpParameters, otpParametersProblem } from "./protocol.js";

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

/** The default CodeChecker: host/otp.ts verifyTotp (createTotp(...).verify in one call) centred on an arbitrary step. */
export function wasmCodeChecker(api: OtpApi = otpApi()): CodeChecker {
  return (seed, params, code, centerStep, window) => {
    if (centerStep < 0) return null;
    // verifyTotp centres its window on the step of the time given, so give it the centre step's start.
    const offset = api.verifyTotp(seed, code, centerStep * params.period, {
      algorithm: params.algorithm,
      digits: params.digits,
      period: params.period,
      window,
    });
    return offset === null ? null : centerStep + offset;
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
  /** Where the audit chain's head is published on every seal (a log line, a file): outside the database. */
  auditHead?: { log?: (line: string) => void; file?: string };
}

/** The configuration `options` give: every field given as undefined keeps its default. */
export function configOf(options: Partial<BankConfig>): Readonly<BankConfig> {
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<BankConfig>;
  return { ...DEFAULT_CONFIG, ...given, otp: { ...DEFAULT_CONFIG.otp, ...given.otp } };
}

/** Refuses default OTP parameters no token could use (`Bank.open`, before anything is read). */
export function checkDefaultOtp(otp: Partial<OtpParameters> | undefined): void {
  if (!otp) return;
  const problem = otpParametersProblem({ ...DEFAULT_CONFIG.otp, ...otp });
  if (problem) throw new BankError("otp-parameters", `the bank's default OTP parameters are unusable: ${problem}`);
}

/** The OTP parameters of a new token: the bank's defaults with `overrides`, refused when unusable. */
export function otpParametersFor(defaults: OtpParameters, overrides: Partial<OtpParameters> = {}): OtpParameters {
  const merged = { ...defaults, ...overrides };
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
