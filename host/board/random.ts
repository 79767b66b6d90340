// The board's random source (the wasm import `random(ptr, len)`): key pairs and nonces for activation
// come from here, so the default is the platform's CSPRNG. SeededRandom exists only so tests and
// fault injection can be replayed bit for bit.

export interface RandomSource {
  /** Fills `bytes` completely. */
  fill(bytes: Uint8Array): void;
}

/** Web Crypto's limit for one getRandomValues call. */
const GET_RANDOM_VALUES_MAX_BYTES = 65536; // bytes

interface WebCrypto {
  getRandomValues<T extends ArrayBufferView>(array: T): T;
}

/**
 * Cryptographically secure bytes from `crypto.getRandomValues` (Node 20 and browsers both have it
 * on globalThis, so the browser simulator can use this file unchanged).
 */
export class TrueRandom implements RandomSource {
  private readonly crypto: WebCrypto;

  constructor() {
    const crypto = (globalThis as { crypto?: WebCrypto }).crypto;
    if (!crypto || typeof crypto.getRandomValues !== "function") {
      throw new Error("no crypto.getRandomValues on this platform: a true random source needs Web Crypto");
    }
    this.crypto = crypto;
  }

  fill(bytes: Uint8Array): void {
    for (let offset = 0; offset < bytes.length; offset += GET_RANDOM_VALUES_MAX_BYTES) {
      this.crypto.getRandomValues(bytes.subarray(offset, offset + GET_RANDOM_VALUES_MAX_BYTES));
    }
  }
}

/**
 * mulberry32: a tiny 32-bit PRNG with good statistical quality for simulation. Returns the next
 * 32-bit unsigned value on each call. Predictable by design, never for keys.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/**
 * Deterministic bytes from a seed, for tests only. NOT FOR PRODUCTION: anyone who knows the seed knows
 * every key the token would generate.
 */
export class SeededRandom implements RandomSource {
  private readonly next: () => number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.next = mulberry32(seed);
  }

  fill(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) bytes[i] = this.next() & 0xff;
  }
}
