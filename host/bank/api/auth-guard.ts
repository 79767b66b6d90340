// What stands between unauthenticated traffic and the store (issue 19 item 5), in memory per
// instance: each client address may fail authentication so many times a minute before its requests
// are answered 429 without a database read; a key id the store did not know (or whose key failed) is
// remembered as failed for a few seconds, so the same made-up id again costs no read; a key this
// instance has seen succeed is remembered by its digest, so it passes an address's limit (valid keys
// have their own per-key limit) and a wrong secret under its id is refused without a read.
import { hash, timingSafeEqual } from "node:crypto";

/** Entries each map keeps at most: a flood of new addresses or ids evicts the oldest, it cannot grow memory. */
export const GUARD_MAX_ENTRIES = 100_000;
const WINDOW_MS = 60_000;

/** Milliseconds on a clock that only moves forward (performance.now by default; tests set it). */
export type MonotonicClock = () => number;

/** Deletes the oldest entry (Maps iterate in insertion order) when `map` is full. */
function makeRoom<K, V>(map: Map<K, V>): void {
  if (map.size < GUARD_MAX_ENTRIES) return;
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}

/** Failed authentications per client address, in fixed one-minute windows from each address's first failure. */
export class AddressFailures {
  readonly #failures = new Map<string, { count: number; resetAt: number }>();

  constructor(
    readonly perMinute: number,
    private readonly now: MonotonicClock,
  ) {}

  /** Seconds until `address` may try again; 0 while it is under the limit. */
  blockedFor(address: string): number {
    const entry = this.#failures.get(address);
    const now = this.now();
    if (!entry || now >= entry.resetAt || entry.count < this.perMinute) return 0;
    return Math.max(1, Math.ceil((entry.resetAt - now) / 1000));
  }

  record(address: string): void {
    const now = this.now();
    const entry = this.#failures.get(address);
    if (entry && now < entry.resetAt) {
      entry.count++;
      return;
    }
    this.#failures.delete(address);
    makeRoom(this.#failures);
    this.#failures.set(address, { count: 1, resetAt: now + WINDOW_MS });
  }
}

/** The digest a presented key is remembered by (never the key itself): SHA-256, one-shot (no Hash object per request). */
export function keyDigest(key: string): Buffer {
  return hash("sha256", key, "buffer");
}

/** Key ids whose key failed (for `failedForMs`), and the digest of each key that succeeded here. */
export class KeyMemory {
  readonly #failed = new Map<string, number>();
  readonly #proven = new Map<string, Buffer>();

  constructor(
    private readonly failedForMs: number,
    private readonly now: MonotonicClock,
  ) {}

  /** "proven": this key succeeded here before; "wrong": its id did, with another secret; "failed": the id failed lately. */
  recall(keyId: string, digest: Buffer): "proven" | "wrong" | "failed" | "unknown" {
    const proven = this.#proven.get(keyId);
    if (proven) return timingSafeEqual(proven, digest) ? "proven" : "wrong";
    const until = this.#failed.get(keyId);
    if (until === undefined) return "unknown";
    if (this.now() < until) return "failed";
    this.#failed.delete(keyId);
    return "unknown";
  }

  succeeded(keyId: string, digest: Buffer): void {
    this.#failed.delete(keyId);
    if (!this.#proven.has(keyId)) makeRoom(this.#proven);
    this.#proven.set(keyId, digest);
  }

  /** The store refused the key (unknown id, revoked, wrong secret): its id fails without a read for a while. */
  failed(keyId: string): void {
    this.#proven.delete(keyId);
    this.#failed.delete(keyId);
    makeRoom(this.#failed);
    this.#failed.set(keyId, this.now() + this.failedForMs);
  }
}
