// The host's handle on the crypto core (build/core*.wasm): instance pool, key slots, I/O buffer.
// host/otp.ts builds the public API on top; nothing here validates user input beyond what the wasm
// itself rejects.
import { ABI_VERSION, STATUS_TEXT } from "./abi.js";
import { instantiate } from "./wasm.js";

/** The three builds of the same sources (scripts/build-wasm.js). */
export type CoreBuild = "release" | "small" | "debug";
export const CORE_FILES: Record<CoreBuild, string> = {
  release: "core.wasm",
  small: "core.small.wasm",
  debug: "core.debug.wasm",
};

export interface CoreExports {
  memory: WebAssembly.Memory;
  IO_BUFFER: number;
  IO_SIZE: number;
  KEY_SLOTS: number;
  abiVersion(): number;
  compressionCount(): number;
  hashInit(alg: number): number;
  hashUpdate(len: number): number;
  hashFinal(): number;
  hash(alg: number, len: number): number;
  keyPrepare(slot: number, alg: number, keyLen: number): number;
  keyForget(slot: number): number;
  mac(slot: number, len: number): number;
  macInit(slot: number): number;
  macUpdate(len: number): number;
  macFinal(): number;
  totp(slot: number, timeHigh: number, timeLow: number, t0High: number, t0Low: number, period: number, digits: number): number;
  totpVerify(
    slot: number,
    timeHigh: number,
    timeLow: number,
    t0High: number,
    t0Low: number,
    period: number,
    digits: number,
    code: number,
    window: number,
  ): number;
  ocra(
    slot: number,
    suiteLen: number,
    questionLen: number,
    passwordLen: number,
    sessionLen: number,
    fields: number,
    counterHigh: number,
    counterLow: number,
    stepHigh: number,
    stepLow: number,
    digits: number,
  ): number;
  transactionCode(seedLen: number, txLen: number): number;
}

/** Throws for a negative status from the core: after host validation, that is a bug, not bad input. */
export function check(status: number, what: string): number {
  if (status < 0) throw new Error(`${what} failed in the wasm core: ${STATUS_TEXT[status] ?? `status ${status}`}`);
  return status;
}

/** One instance of the core: its exports, a view of its I/O buffer, and its free key slots. */
export class CoreInstance {
  readonly exports: CoreExports;
  readonly io: Uint8Array;
  private readonly freeSlots: number[] = [];

  constructor(file: string) {
    this.exports = instantiate<CoreExports>(file);
    const version = this.exports.abiVersion();
    if (version !== ABI_VERSION)
      throw new Error(`${file} speaks ABI ${version}, the host expects ${ABI_VERSION}: rebuild with npm run build`);
    // Memory never grows (one page, maximum one page), so this view stays valid.
    this.io = new Uint8Array(this.exports.memory.buffer, this.exports.IO_BUFFER, this.exports.IO_SIZE);
    // Slot 0 is the one-shot scratch; the rest are for resident keys.
    for (let slot = this.exports.KEY_SLOTS - 1; slot >= 1; slot--) this.freeSlots.push(slot);
  }

  takeSlot(): number | undefined {
    return this.freeSlots.pop();
  }

  releaseSlot(slot: number): void {
    this.exports.keyForget(slot);
    this.freeSlots.push(slot);
  }

  /** Prepares `key` into `slot`; keys longer than the I/O buffer are hashed first (RFC 2104 §2). */
  prepareKey(slot: number, alg: number, key: Uint8Array): void {
    const material = key.length > this.io.length ? this.digest(alg, key) : key;
    this.io.set(material);
    check(this.exports.keyPrepare(slot, alg, material.length), "preparing the key");
  }

  /** Hashes `data` of any length, streaming it through the I/O buffer. */
  digest(alg: number, data: Uint8Array): Uint8Array {
    const e = this.exports;
    if (data.length <= this.io.length) {
      this.io.set(data);
      return this.io.slice(0, check(e.hash(alg, data.length), "hashing"));
    }
    check(e.hashInit(alg), "hashing");
    this.stream(data, (len) => e.hashUpdate(len));
    return this.io.slice(0, check(e.hashFinal(), "hashing"));
  }

  /** HMAC of `data` of any length under the key in `slot`. */
  mac(slot: number, data: Uint8Array): Uint8Array {
    const e = this.exports;
    if (data.length <= this.io.length) {
      this.io.set(data);
      return this.io.slice(0, check(e.mac(slot, data.length), "computing the HMAC"));
    }
    check(e.macInit(slot), "computing the HMAC");
    this.stream(data, (len) => e.macUpdate(len));
    return this.io.slice(0, check(e.macFinal(), "computing the HMAC"));
  }

  private stream(data: Uint8Array, update: (len: number) => number): void {
    for (let offset = 0; offset < data.length; offset += this.io.length) {
      const chunk = data.subarray(offset, offset + this.io.length);
      this.io.set(chunk);
      check(update(chunk.length), "hashing");
    }
  }
}

/** A resident key: which instance and slot hold its prepared HMAC states. */
export interface KeyHandle {
  instance: CoreInstance;
  slot: number;
}

/**
 * A pool of instances of one build. Each instance holds KEY_SLOTS - 1 resident keys; a new instance
 * is made when all are taken, so any number of generators can live at once.
 */
export class Core {
  private readonly instances: CoreInstance[] = [];

  constructor(readonly build: CoreBuild = "release") {
    this.instances.push(new CoreInstance(CORE_FILES[build]));
  }

  /** The instance that serves one-shot calls (in its slot 0). */
  get main(): CoreInstance {
    return this.instances[0];
  }

  /** Compression-function calls so far in the main instance (debug build), or -1. */
  compressionCount(): number {
    return this.main.exports.compressionCount();
  }

  holdKey(alg: number, key: Uint8Array): KeyHandle {
    for (const instance of this.instances) {
      const slot = instance.takeSlot();
      if (slot !== undefined) {
        instance.prepareKey(slot, alg, key);
        return { instance, slot };
      }
    }
    const instance = new CoreInstance(CORE_FILES[this.build]);
    this.instances.push(instance);
    return this.holdKey(alg, key);
  }

  releaseKey(handle: KeyHandle): void {
    handle.instance.releaseSlot(handle.slot);
  }

  /** Number of wasm instances in the pool (for tests). */
  get instanceCount(): number {
    return this.instances.length;
  }
}

const cores = new Map<CoreBuild, Core>();

/** The shared pool for a build, made on first use. */
export function core(build: CoreBuild = "release"): Core {
  let pool = cores.get(build);
  if (!pool) {
    pool = new Core(build);
    cores.set(build, pool);
  }
  return pool;
}
