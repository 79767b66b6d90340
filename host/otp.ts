// The public one-time-password API: hotp, totp, createTotp, ocra, digest, hmac. Validates every input with
// an error that says what is accepted, then calls the wasm core (host/core.ts). RFC 4226 (HOTP),
// RFC 6238 (TOTP), RFC 6287 (OCRA), RFC 2104 (HMAC), FIPS 180-4 (SHA).
import { ALG_SHA1, ALG_SHA256, ALG_SHA512, STATUS_NO_MATCH } from "./abi.js";
import { check, core, type Core, type CoreBuild, type KeyHandle } from "./core.js";
import { computeOcra, type OcraInput } from "./ocra.js";

export type Algorithm = "SHA1" | "SHA256" | "SHA512";

export interface OtpOptions {
  /** "SHA1" (default), "SHA256" or "SHA512"; "SHA-256", "sha256" and the like are accepted. */
  algorithm?: Algorithm | string;
  /** 6 (default), 7 or 8. */
  digits?: number;
  /** Step in seconds, 1 to 86400; default 60, as on the token. TOTP only. */
  period?: number;
  /** Unix time the steps count from; default 0. TOTP only. */
  t0?: number | bigint;
}

export interface VerifyOptions {
  /** Steps accepted on each side of the current one; default 1, at most 1000. */
  window?: number;
}

export const DEFAULT_DIGITS = 6;
export const DEFAULT_PERIOD = 60;
export const DEFAULT_WINDOW = 1;
export const MAX_WINDOW = 1000;
export const MAX_PERIOD = 86400;

const ALGORITHMS: Record<Algorithm, number> = { SHA1: ALG_SHA1, SHA256: ALG_SHA256, SHA512: ALG_SHA512 };

/** The algorithm name in canonical form ("sha-256" -> "SHA256"); throws for anything else. */
export function algorithmName(algorithm: unknown = "SHA1"): Algorithm {
  if (typeof algorithm === "string") {
    const name = algorithm.toUpperCase().replace("-", "");
    if (name in ALGORITHMS) return name as Algorithm;
  }
  throw new RangeError(`unknown algorithm ${JSON.stringify(algorithm)}: use SHA1, SHA256 or SHA512`);
}

export function algorithmId(algorithm: unknown = "SHA1"): number {
  return ALGORITHMS[algorithmName(algorithm)];
}

function checkBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array (bytes), got ${describe(value)}`);
  return value;
}

function checkKey(key: unknown): Uint8Array {
  checkBytes(key, "key");
  if ((key as Uint8Array).length === 0) throw new RangeError("key must not be empty");
  return key as Uint8Array;
}

export function checkDigits(digits: unknown = DEFAULT_DIGITS): number {
  if (digits !== 6 && digits !== 7 && digits !== 8) throw new RangeError(`digits must be 6, 7 or 8, got ${describe(digits)}`);
  return digits;
}

export function checkPeriod(period: unknown = DEFAULT_PERIOD): number {
  if (typeof period !== "number" || !Number.isInteger(period) || period < 1 || period > MAX_PERIOD) {
    throw new RangeError(`period must be a whole number of seconds from 1 to ${MAX_PERIOD}, got ${describe(period)}`);
  }
  return period;
}

function checkWindow(window: unknown = DEFAULT_WINDOW): number {
  if (typeof window !== "number" || !Number.isInteger(window) || window < 0 || window > MAX_WINDOW) {
    throw new RangeError(`window must be a whole number of steps from 0 to ${MAX_WINDOW}, got ${describe(window)}`);
  }
  return window;
}

const TWO_32 = 4294967296;
const U64_MAX = (1n << 64n) - 1n;

/** A non-negative 64-bit integer as [high, low] 32-bit halves, the way the core takes it. */
export function split64(value: unknown, what: string): [number, number] {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`${what} must be a non-negative whole number, got ${describe(value)}`);
    if (!Number.isSafeInteger(value)) throw new RangeError(`${what} ${value} is above 2^53-1: pass it as a bigint`);
    return [Math.floor(value / TWO_32), value >>> 0];
  }
  if (typeof value === "bigint") {
    if (value < 0n || value > U64_MAX) throw new RangeError(`${what} must be from 0 to 2^64-1, got ${value}`);
    return [Number(value >> 32n), Number(value & 0xffffffffn)];
  }
  throw new TypeError(`${what} must be a number or a bigint, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (value === null || typeof value !== "object") return String(value);
  return Object.prototype.toString.call(value);
}

/** Parses a code typed by a person: exactly `digits` ASCII digits. */
export function parseCode(code: unknown, digits: number): number {
  if (typeof code !== "string") throw new TypeError(`code must be a string of ${digits} digits, got ${describe(code)}`);
  if (code.length !== digits || !/^[0-9]+$/.test(code)) {
    throw new RangeError(`code must be exactly ${digits} digits 0-9, got ${code.length} characters`);
  }
  return Number(code);
}

function format(value: number, digits: number): string {
  return String(value).padStart(digits, "0");
}

/** The parameters every TOTP call needs, validated once. */
interface TotpParams {
  alg: number;
  digits: number;
  period: number;
  t0High: number;
  t0Low: number;
  t0: number | bigint;
}

function totpParams(options: OtpOptions = {}): TotpParams {
  const [t0High, t0Low] = split64(options.t0 ?? 0, "t0");
  return {
    alg: algorithmId(options.algorithm),
    digits: checkDigits(options.digits),
    period: checkPeriod(options.period),
    t0High,
    t0Low,
    t0: options.t0 ?? 0,
  };
}

function splitTime(unixSeconds: unknown, p: TotpParams): [number, number] {
  const [high, low] = split64(unixSeconds, "time");
  if (high < p.t0High || (high === p.t0High && low < p.t0Low)) {
    throw new RangeError(`time ${String(unixSeconds)} is before t0 ${String(p.t0)}`);
  }
  return [high, low];
}

/** A TOTP generator whose key stays prepared in the wasm: two compressions per code. */
export class TotpGenerator {
  private handle: KeyHandle | undefined;
  private readonly params: TotpParams;

  constructor(
    private readonly pool: Core,
    key: Uint8Array,
    options: OtpOptions = {},
  ) {
    this.params = totpParams(options);
    this.handle = pool.holdKey(this.params.alg, checkKey(key));
    registry.register(this, { pool, handle: this.handle }, this);
  }

  get digits(): number {
    return this.params.digits;
  }

  get period(): number {
    return this.params.period;
  }

  private held(): KeyHandle {
    if (!this.handle) throw new Error("this TOTP generator was disposed of");
    return this.handle;
  }

  /** The code at `unixSeconds`. */
  generate(unixSeconds: number | bigint): string {
    const { instance, slot } = this.held();
    const p = this.params;
    const [high, low] = splitTime(unixSeconds, p);
    const value = instance.exports.totp(slot, high, low, p.t0High, p.t0Low, p.period, p.digits);
    return format(check(value, "computing the code"), p.digits);
  }

  /**
   * Checks `code` at `unixSeconds` within `window` steps each way (default 1), comparing every
   * candidate in constant time. Returns the matched step offset (0, -1, +1, ...) or null.
   */
  verify(code: string, unixSeconds: number | bigint, options: VerifyOptions = {}): number | null {
    const { instance, slot } = this.held();
    const p = this.params;
    const value = parseCode(code, p.digits);
    const window = checkWindow(options.window);
    const [high, low] = splitTime(unixSeconds, p);
    const index = instance.exports.totpVerify(slot, high, low, p.t0High, p.t0Low, p.period, p.digits, value, window);
    if (index === STATUS_NO_MATCH) return null;
    return check(index, "verifying the code") - window;
  }

  /** Zeroes the key in the wasm and frees its slot. The generator cannot be used afterwards. */
  dispose(): void {
    if (!this.handle) return;
    this.pool.releaseKey(this.handle);
    registry.unregister(this);
    this.handle = undefined;
  }
}

// A generator dropped without dispose() still gets its slot zeroed and freed.
const registry = new FinalizationRegistry<{ pool: Core; handle: KeyHandle }>(({ pool, handle }) => pool.releaseKey(handle));

/** The API bound to one build of the core; the package exports the release build's. */
export interface OtpApi {
  hotp(key: Uint8Array, counter: number | bigint, options?: Pick<OtpOptions, "algorithm" | "digits">): string;
  totp(key: Uint8Array, unixSeconds: number | bigint, options?: OtpOptions): string;
  createTotp(key: Uint8Array, options?: OtpOptions): TotpGenerator;
  /**
   * One check of `code` at `unixSeconds`, as `createTotp(key, options).verify(code, unixSeconds, options)`
   * without holding the key in a slot of its own (and registering it for cleanup): the key is prepared,
   * used once and zeroed. The matched step offset, or null.
   */
  verifyTotp(key: Uint8Array, code: string, unixSeconds: number | bigint, options?: OtpOptions & VerifyOptions): number | null;
  digest(algorithm: Algorithm | string, data: Uint8Array): Uint8Array;
  hmac(algorithm: Algorithm | string, key: Uint8Array, data: Uint8Array): Uint8Array;
  /** The OCRA code (RFC 6287) of `suite` under `key`: digits, or the whole HMAC in hex when the suite's t is 0. */
  ocra(suite: string, key: Uint8Array, input: OcraInput): string;
  readonly core: Core;
}

export function otpApi(build: CoreBuild = "release"): OtpApi {
  const pool = core(build);
  const oneShot = (alg: number, key: Uint8Array, run: (exports: typeof pool.main.exports) => number): number => {
    const instance = pool.main;
    instance.prepareKey(0, alg, key);
    try {
      return run(instance.exports);
    } finally {
      instance.exports.keyForget(0);
    }
  };
  return {
    core: pool,
    hotp(key, counter, options = {}) {
      const alg = algorithmId(options.algorithm);
      const digits = checkDigits(options.digits);
      const [high, low] = split64(counter, "counter");
      checkKey(key);
      // HOTP is TOTP with a one-second step from t0 = 0: the counter is the time.
      const value = oneShot(alg, key, (e) => e.totp(0, high, low, 0, 0, 1, digits));
      return format(check(value, "computing the code"), digits);
    },
    totp(key, unixSeconds, options = {}) {
      const p = totpParams(options);
      const [high, low] = splitTime(unixSeconds, p);
      checkKey(key);
      const value = oneShot(p.alg, key, (e) => e.totp(0, high, low, p.t0High, p.t0Low, p.period, p.digits));
      return format(check(value, "computing the code"), p.digits);
    },
    createTotp(key, options = {}) {
      return new TotpGenerator(pool, key, options);
    },
    verifyTotp(key, code, unixSeconds, options = {}) {
      // The checks in TotpGenerator's order: parameters and key (its constructor), then code, window, time (verify).
      const p = totpParams(options);
      checkKey(key);
      const value = parseCode(code, p.digits);
      const window = checkWindow(options.window);
      const [high, low] = splitTime(unixSeconds, p);
      const index = oneShot(p.alg, key, (e) => e.totpVerify(0, high, low, p.t0High, p.t0Low, p.period, p.digits, value, window));
      if (index === STATUS_NO_MATCH) return null;
      return check(index, "verifying the code") - window;
    },
    digest(algorithm, data) {
      const alg = algorithmId(algorithm);
      return pool.main.digest(alg, checkBytes(data, "data"));
    },
    ocra(suite, key, input) {
      return computeOcra(pool, suite, key, input);
    },
    hmac(algorithm, key, data) {
      const alg = algorithmId(algorithm);
      checkBytes(key, "key");
      checkBytes(data, "data");
      const instance = pool.main;
      instance.prepareKey(0, alg, key);
      try {
        return instance.mac(0, data);
      } finally {
        instance.exports.keyForget(0);
      }
    },
  };
}
