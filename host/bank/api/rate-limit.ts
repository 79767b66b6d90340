// The per-key request rate limit (ServiceOptions.rateLimit, `bank serve --rate-limit`): each API key
// (or, for a request no key was taken for, its client address) may make so many requests a minute on
// this instance, in fixed one-minute windows from its first request; past that, 429 with Retry-After
// until its window ends. Every answer it let through carries X-RateLimit-Limit, -Remaining and -Reset.
// This is what @fastify/rate-limit did here, as one synchronous hook: the plugin cost each request an
// await of the key, a promise around its store and a read of request.routeOptions (a getter that
// builds an object each time), on the one path every verification takes.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from "fastify";
import type { MonotonicClock } from "./auth-guard.js";

/** Keys (API keys and addresses) remembered at most; the least recently seen is forgotten first (as the plugin's LRU of 5,000). */
export const RATE_LIMIT_ENTRIES = 5000;
const WINDOW_MS = 60_000;

/** A 429 of the rate limit, thrown to the service's error handler (api/errors.ts), which answers `{ error, message }`. */
export class RateLimited extends Error {
  readonly statusCode = 429;
  constructor(message: string) {
    super(message);
    this.name = "RateLimited";
  }
}

/** "retry in" as the plugin worded it (@lukeed/ms, long form): "1 minute", "45 seconds", "1 second". */
function wait(seconds: number): string {
  return seconds >= 60 ? "1 minute" : `${seconds} second${seconds === 1 ? "" : "s"}`;
}

/** Counts requests per key in one-minute windows; `hook` is the preHandler every route gets. */
export class RequestRateLimit {
  readonly #windows = new Map<string, { count: number; startedAt: number }>();
  readonly #limit: string;

  constructor(
    readonly perMinute: number,
    private readonly now: MonotonicClock,
  ) {
    this.#limit = String(perMinute);
  }

  /** Counts one request of `key`: the requests it has left in its window (-1: over the limit) and the seconds until the window ends. */
  take(key: string): { remaining: number; resetSeconds: number } {
    const now = this.now();
    let window = this.#windows.get(key);
    if (window === undefined || now >= window.startedAt + WINDOW_MS) {
      window = { count: 0, startedAt: now };
    }
    // Most recently seen last: the Map's first key is the one to forget when it is full.
    this.#windows.delete(key);
    if (this.#windows.size >= RATE_LIMIT_ENTRIES) this.#windows.delete(this.#windows.keys().next().value as string);
    this.#windows.set(key, window);
    window.count++;
    const resetSeconds = Math.max(1, Math.ceil((window.startedAt + WINDOW_MS - now) / 1000));
    return { remaining: window.count > this.perMinute ? -1 : this.perMinute - window.count, resetSeconds };
  }

  /** The preHandler: counts the request under its key (`key:<id>`, or `ip:<address>` without one) and refuses it past the limit. */
  readonly hook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const { remaining, resetSeconds } = this.take(request.apiKey ? `key:${request.apiKey.keyId}` : `ip:${request.ip}`);
    const reset = String(resetSeconds);
    reply.header("x-ratelimit-limit", this.#limit);
    reply.header("x-ratelimit-remaining", remaining < 0 ? "0" : String(remaining));
    reply.header("x-ratelimit-reset", reset);
    if (remaining >= 0) {
      done();
      return;
    }
    reply.header("retry-after", reset);
    done(new RateLimited(`this API key made more than ${this.perMinute} requests in a minute: retry in ${wait(resetSeconds)}`));
  };
}
