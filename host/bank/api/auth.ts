// Authentication: `Authorization: Bearer <API key>` (bank.createApiKey), checked by one onRequest
// hook for every route whose config names a scope. Scope "verify" may confirm, verify and resync;
// "enroll" may issue and relay activation (issues, activations, registrations); "admin" may read
// status and the audit trail, unlock, suspend, resume, revoke and export, and nothing else; "login"
// (keys made before the split) is verify+enroll. No key: 401; a key without the scope: 403; too many failures from one
// address: 429 (api/auth-guard.ts). The hook is each such route's own (added as the route is), so a
// public route runs none. Also the state the hooks and handlers share (fastify decorators):
// the app's `bank`, the request's `apiKey`.
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { API_KEY_PATTERN, API_SCOPES, type ApiGrant, type ApiKeyInfo, type Bank, scopeGrants, scopeLabel } from "../bank.js";
import type { ApiScope } from "../store.js";
import { AddressFailures, KeyMemory, keyDigest, type MonotonicClock } from "./auth-guard.js";
import { sendError } from "./errors.js";

/** A key the service holds in memory only (the browser simulator's own login key). */
export interface MemoryKey {
  key: string;
  scope: ApiScope;
  /** Recorded as the actor in the audit trail. */
  actor: string;
}

declare module "fastify" {
  interface FastifyInstance {
    /** The bank every route works on (decorated by registerBankApi). */
    bank: Bank;
  }
  interface FastifyRequest {
    apiKey: (ApiKeyInfo & { actor: string }) | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; none: public. "login": both verify and enroll (what a login key has). */
    scope?: ApiScope;
  }
}

/** Route configs: the scope each route group needs. */
export const verify = { scope: "verify" as const };
export const enroll = { scope: "enroll" as const };
export const admin = { scope: "admin" as const };

/** Whether a key of scope `has` may use a route that needs `needed`. */
export function scopeAllows(has: ApiScope, needed: ApiScope): boolean {
  const grants: readonly ApiGrant[] = scopeGrants(has);
  return scopeGrants(needed).every((g) => grants.includes(g));
}

/** Who acts, for the audit trail: `key:<id>` for a stored key, a memory key's actor. */
export const actor = (request: FastifyRequest) => request.apiKey?.actor ?? "api";

export interface AuthenticationOptions {
  memoryKeys: MemoryKey[];
  /** Failed authentications per minute per client address before its requests are answered 429 unread. */
  failedAuthLimit: number;
  /** Seconds a key id whose key failed is refused without reading the store. */
  unknownKeySeconds: number;
  now: MonotonicClock;
}

type Caller = ApiKeyInfo & { actor: string };

const BEARER = /^Bearer +(\S+)$/i;

/**
 * Adds `request.apiKey` and the hook that sets it (or answers 401/403) on every route that names a
 * scope. Failed authentications count against the client's address (api/auth-guard.ts): past the
 * limit, every request from it but a key this instance has seen succeed is answered 429 before any
 * read of the store.
 */
export function addAuthentication(app: FastifyInstance, options: AuthenticationOptions): void {
  const { bank } = app;
  const memoryKeys = options.memoryKeys.map((k) => ({ ...k, bytes: Buffer.from(k.key, "utf8") }));
  const failures = new AddressFailures(options.failedAuthLimit, options.now);
  const keys = new KeyMemory(options.unknownKeySeconds * 1000, options.now);

  app.decorateRequest("apiKey", null);

  function memoryKeyOf(presented: string): Caller | null {
    if (memoryKeys.length === 0) return null;
    const given = Buffer.from(presented, "utf8");
    for (const k of memoryKeys) {
      if (k.bytes.length === given.length && timingSafeEqual(k.bytes, given)) {
        return { keyId: k.actor, name: k.actor, scope: k.scope, createdAt: 0, revokedAt: null, actor: k.actor };
      }
    }
    return null;
  }

  /** The caller of each key the bank answered with (the bank hands out the same object while it caches the key's row). */
  const callers = new WeakMap<ApiKeyInfo, Caller>();

  /** The store's answer for a key of the stored form, remembered either way. */
  async function storedKeyOf(key: string, keyId: string, digest: Buffer): Promise<Caller | null> {
    const found = await bank.authenticate(key, digest);
    if (!found) {
      keys.failed(keyId);
      return null;
    }
    keys.succeeded(keyId, digest);
    let caller = callers.get(found);
    if (caller === undefined) {
      caller = Object.freeze({ ...found, actor: `key:${found.keyId}` }) as Caller;
      callers.set(found, caller);
    }
    return caller;
  }

  /** The caller; null: a failed authentication; or the seconds an address over its limit must wait. */
  async function keyOf(presented: string, address: string): Promise<Caller | null | { retryAfter: number }> {
    const inMemory = memoryKeyOf(presented);
    if (inMemory) return inMemory;
    const overLimit = () => {
      const retryAfter = failures.blockedFor(address);
      return retryAfter > 0 ? { retryAfter } : null;
    };
    const keyId = API_KEY_PATTERN.exec(presented)?.[1];
    if (keyId === undefined) return overLimit();
    const digest = keyDigest(presented);
    const recalled = keys.recall(keyId, digest);
    // A key that succeeded here is not held to its address's limit: it has its own per-key limit.
    if (recalled === "proven") return storedKeyOf(presented, keyId, digest);
    // Refused without a read: an address over its limit, an id that failed lately, a wrong secret under a proven id.
    return overLimit() ?? (recalled === "unknown" ? storedKeyOf(presented, keyId, digest) : null);
  }

  /** The onRequest hook of a route that needs `needed`: sets request.apiKey, or answers 401, 403 or 429. */
  const authenticate = (needed: ApiScope) => {
    const allowed = new Set(API_SCOPES.filter((has) => scopeAllows(has, needed)));
    return async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
      const authorization = request.headers.authorization;
      const presented = authorization === undefined ? "" : (BEARER.exec(authorization)?.[1] ?? "");
      const key = await keyOf(presented, request.ip);
      if (key && "retryAfter" in key) {
        return sendError(
          reply,
          429,
          {
            error: "rate-limited",
            message: `${failures.perMinute} requests from this address in a minute had no valid API key: retry in ${key.retryAfter} s`,
            retryAfterSeconds: key.retryAfter,
          },
          { "Retry-After": String(key.retryAfter) },
        );
      }
      if (!key) {
        failures.record(request.ip);
        return sendError(
          reply,
          401,
          { error: "unauthorized", message: "this route needs an API key: send Authorization: Bearer KEY (otp-token bank api-key create)" },
          { "WWW-Authenticate": 'Bearer realm="otp-token bank"' },
        );
      }
      if (!allowed.has(key.scope)) {
        return sendError(reply, 403, {
          error: "forbidden",
          message: `this route needs an API key of scope ${scopeLabel(needed)}; this key has scope ${scopeLabel(key.scope)}`,
        });
      }
      request.apiKey = key;
      return undefined;
    };
  };

  // Each route that names a scope gets its own hook as it is added (also the routes of plugins
  // registered later, and of the browser simulator's server): a public route runs none, and no
  // request reads request.routeOptions (a getter that builds a new object on every read).
  app.addHook("onRoute", (route) => {
    const needed = route.config?.scope;
    if (needed === undefined) return;
    const own = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [authenticate(needed) as never, ...own];
  });
}
