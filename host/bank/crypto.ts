// Secrets at rest: seeds, activation passwords (CPace's PRS) and activation sessions are sealed with
// AES-256-GCM (NIST SP 800-38D) under the bank's master key. Each record has its own random 96-bit IV,
// and its row identity as additional authenticated data, so a ciphertext moved to another row (or
// another purpose) fails to open.
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject, randomBytes, randomFillSync } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { BankError } from "./errors.js";

/** Bytes of the pool `pooledRandom` fills at once (a request larger than a quarter of it is filled on its own). */
export const RANDOM_POOL_BYTES = 4096;

/**
 * Random bytes (nonces, ids) from a pooled buffer: one randomFillSync per RANDOM_POOL_BYTES instead
 * of one randomBytes call (and a copy) per request. Each request gets its own copy, and its part of
 * the pool is zeroised as it is handed out: no byte is handed out twice or kept after it was given.
 */
export function pooledRandom(): (length: number) => Uint8Array {
  const pool = new Uint8Array(RANDOM_POOL_BYTES);
  let used = pool.length;
  return (length) => {
    if (length > RANDOM_POOL_BYTES / 4) return randomFillSync(new Uint8Array(length));
    if (used + length > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const out = pool.slice(used, used + length);
    pool.fill(0, used, used + length);
    used += length;
    return out;
  };
}

export const MASTER_KEY_ENV = "OTP_BANK_MASTER_KEY";
export const MASTER_KEY_BYTES = 32;
/** Sealed record layout: format (1 byte) || IV (12) || ciphertext || GCM tag (16). */
const SEALED_FORMAT = 1;
const IV_BYTES = 12;
const GCM_TAG_BYTES = 16;

const HOW_TO_GIVE = `give the bank master key as --master-key-file PATH (a file of 32 raw bytes or 64 hex digits) or in the environment variable ${MASTER_KEY_ENV} (64 hex digits)`;

/** The bank's master key (32 bytes). Only this module sees its bytes. */
export class MasterKey {
  readonly #key: Buffer;
  /** The same key as a KeyObject, made once: a cipher made from it skips importing raw key bytes each time. */
  readonly #secret: KeyObject;

  private constructor(key: Buffer) {
    this.#key = key;
    this.#secret = createSecretKey(key);
  }

  /** From 64 hex digits (surrounding white space ignored). */
  static fromHex(text: string, source = "the master key"): MasterKey {
    const hex = text.trim();
    if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
      throw new BankError("master-key", `${source} must be 64 hex digits (32 bytes), got ${hex.length} characters: ${HOW_TO_GIVE}`);
    }
    return new MasterKey(Buffer.from(hex, "hex"));
  }

  static fromBytes(bytes: Uint8Array): MasterKey {
    if (bytes.length !== MASTER_KEY_BYTES)
      throw new BankError("master-key", `the master key must be ${MASTER_KEY_BYTES} bytes, got ${bytes.length}`);
    return new MasterKey(Buffer.from(bytes));
  }

  /**
   * From a file holding exactly 32 raw bytes, or 64 hex digits (a trailing newline is fine). Like ssh
   * with a private key, a file that group or others may read is refused: the key opens every seed.
   */
  static fromFile(path: string): MasterKey {
    let content: Buffer;
    try {
      const mode = statSync(path).mode;
      if (process.platform !== "win32" && (mode & 0o077) !== 0) {
        throw new BankError(
          "master-key",
          `the master key file ${path} can be read by others (mode ${(mode & 0o777).toString(8).padStart(4, "0")}): run chmod 600 ${path}`,
        );
      }
      content = readFileSync(path);
    } catch (error) {
      if (error instanceof BankError) throw error;
      throw new BankError(
        "master-key",
        `cannot read the master key file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; ${HOW_TO_GIVE}`,
      );
    }
    if (content.length === MASTER_KEY_BYTES) return new MasterKey(content);
    return MasterKey.fromHex(content.toString("latin1"), `the master key file ${path}`);
  }

  /** The key file when a path is given, else the environment variable; a clear error naming both when neither is usable. */
  static load(file: string | undefined, env: NodeJS.ProcessEnv = process.env): MasterKey {
    if (file !== undefined) return MasterKey.fromFile(file);
    const value = env[MASTER_KEY_ENV];
    if (value === undefined || value === "") throw new BankError("master-key", `no bank master key: ${HOW_TO_GIVE}`);
    return MasterKey.fromHex(value, `${MASTER_KEY_ENV}`);
  }

  /** A key for one other purpose, derived with HKDF-SHA256 (RFC 5869): the audit chain's MAC key. */
  deriveKey(purpose: string): Uint8Array {
    return new Uint8Array(hkdfSync("sha256", this.#key, new Uint8Array(0), Buffer.from(`otp-token ${purpose}`, "utf8"), 32));
  }

  /** Seals `plaintext` for the row named by `aad`. */
  seal(plaintext: Uint8Array, aad: string): Uint8Array {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#secret, iv, { authTagLength: GCM_TAG_BYTES });
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return new Uint8Array(Buffer.concat([Buffer.from([SEALED_FORMAT]), iv, body, cipher.getAuthTag()]));
  }

  /** Opens a record sealed for `aad`; a wrong master key, a moved or a damaged record is a "master-key" BankError. */
  open(sealed: Uint8Array, aad: string): Uint8Array {
    if (sealed.length < 1 + IV_BYTES + GCM_TAG_BYTES || sealed[0] !== SEALED_FORMAT) {
      throw new BankError("master-key", `the stored secret for ${aad.split(":")[0]} is damaged (unknown format)`);
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(sealed.length - GCM_TAG_BYTES);
    const decipher = createDecipheriv("aes-256-gcm", this.#secret, iv, { authTagLength: GCM_TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(tag);
    // GCM's final() adds no bytes: update's output is the plaintext (its own buffer, which the caller zeroes).
    const plaintext = decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - GCM_TAG_BYTES));
    try {
      decipher.final();
      return new Uint8Array(plaintext.buffer, plaintext.byteOffset, plaintext.length);
    } catch {
      plaintext.fill(0);
      throw new BankError(
        "master-key",
        "a stored secret cannot be decrypted: the master key is not the one this database was written with (or the record was altered or moved)",
      );
    }
  }
}

/** Row identities used as AAD: one purpose prefix per kind of secret. */
export const aad = {
  activationPassword: (serviceId: string, userId: string) => `prs:${serviceId}:${userId}`,
  activationSession: (serviceId: string, userId: string, serial: string, sid: Uint8Array) =>
    `activation-session:${serviceId}:${userId}:${serial}:${Buffer.from(sid).toString("hex")}`,
  pendingSeed: (serviceId: string, userId: string, serial: string) => `pending-seed:${serviceId}:${userId}:${serial}`,
  seed: (serviceId: string, userId: string, serial: string) => `seed:${serviceId}:${userId}:${serial}`,
  keyCheck: () => "master-key-check",
  auditKeys: () => "audit-keys",
};
