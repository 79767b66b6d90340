// The keys room: the API keys a bank's backend calls the service with (host/bank/README.md, "Rules
// worth knowing"): made once and shown once, kept as the SHA-256 of their secret, scoped, revoked,
// and checked on each request (through a short per-instance cache in `bank serve`). Reached by the
// service's authentication hook and `bank api-key create|list|revoke`.
import { timingSafeEqual } from "node:crypto";
import { BankError } from "../errors.js";
import type { ApiKeyRow, ApiScope } from "../store.js";
import { type AuditWriter, type BankContext, type Outcome, sha256, unwrap } from "./shared.js";

export interface ApiKeyInfo {
  keyId: string;
  name: string;
  scope: ApiScope;
  createdAt: number;
  revokedAt: number | null;
}

/** The scopes a key may be created with; "login" is kept as the name of verify+enroll (keys made before the split). */
export const API_SCOPES: readonly ApiScope[] = ["verify", "enroll", "admin", "login"];

/** What a key may do: each route needs one of these (api/auth.ts). Admin is the administration routes only. */
export type ApiGrant = "verify" | "enroll" | "admin";

export function scopeGrants(scope: ApiScope): readonly ApiGrant[] {
  return scope === "login" ? ["verify", "enroll"] : [scope];
}

/** A scope as printed (`bank api-key list`, audit details): a login key is "verify+enroll". */
export function scopeLabel(scope: ApiScope): string {
  return scopeGrants(scope).join("+");
}

/** API keys: "otpk_" + 16 hex digits (the id, stored) + "_" + 43 base64url characters (the secret: only its SHA-256 is stored). */
export const API_KEY_PATTERN = /^otpk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const ID_ALPHABET_HEX = "0123456789abcdef";
/** Keys `authenticate` keeps at most (a flood of made-up key ids cannot grow it: only stored keys enter). */
const API_KEY_CACHE_ENTRIES = 10_000;

export class ApiKeys {
  readonly #cacheMs: number;
  readonly #cache = new Map<string, CachedKey>();

  constructor(
    private readonly ctx: Pick<BankContext, "store" | "now" | "random" | "actor">,
    private readonly audit: AuditWriter,
    /** Seconds a key's stored row is reused before it is read again (0: every call reads it). */
    cacheSeconds: number,
  ) {
    this.#cacheMs = Math.max(0, cacheSeconds) * 1000;
  }

  /** A new API key: the key is returned once; the store keeps its id, scope, name and the SHA-256 of its secret. */
  async create(scope: ApiScope, name: string, by = this.ctx.actor): Promise<ApiKeyInfo & { key: string }> {
    if (!API_SCOPES.includes(scope)) throw new BankError("settings", "the scope must be verify, enroll or admin (login: verify+enroll)");
    if (typeof name !== "string" || name.length > 100 || !/^[\x20-\x7e\u00a0-\uffff]*$/.test(name))
      throw new BankError("settings", "the key's name must be at most 100 printable characters");
    const keyId = Array.from(this.ctx.random(8), (b) => ID_ALPHABET_HEX[b >> 4] + ID_ALPHABET_HEX[b & 15]).join("");
    const secret = Buffer.from(this.ctx.random(32)).toString("base64url");
    const now = this.ctx.now();
    await this.ctx.store.transaction(async (tx) => {
      await tx.insertApiKey({ key_id: keyId, name, scope, secret_hash: sha256(secret), created_at: now, revoked_at: null });
      await this.audit.append(tx, now, "api-key-created", null, null, by, `${keyId} (${scopeLabel(scope)}) ${name}`);
    });
    return { keyId, name, scope, createdAt: now, revokedAt: null, key: `otpk_${keyId}_${secret}` };
  }

  async list(): Promise<ApiKeyInfo[]> {
    return (await this.ctx.store.listApiKeys()).map(apiKeyInfo);
  }

  /** Revokes a key at once (for every instance: each request looks its key up). */
  async revoke(keyId: string, by = this.ctx.actor): Promise<void> {
    const now = this.ctx.now();
    unwrap(
      await this.ctx.store.transaction(async (tx): Promise<Outcome<null>> => {
        if (!(await tx.revokeApiKey(keyId, now))) return { error: new BankError("unknown", `no unrevoked API key has the id ${keyId}`) };
        await this.audit.append(tx, now, "api-key-revoked", null, null, by, keyId);
        return { value: null };
      }),
    );
    this.#cache.delete(keyId);
  }

  /**
   * The key a bearer token names, if it is one of ours and not revoked (its secret compared in constant
   * time). `digest` is the SHA-256 of the whole `key` when the caller has it (api/auth.ts), computed here
   * when not: once a cached row's secret has matched, the digest of the key that matched (computed here) is kept with
   * it (in memory, for as long as the row is cached) and a later call compares digests in constant
   * time instead of hashing the secret again. Revocation is seen when the cached row is read again.
   */
  async authenticate(key: string, digest?: Uint8Array): Promise<ApiKeyInfo | null> {
    const match = API_KEY_PATTERN.exec(key);
    if (!match) return null;
    const entry = await this.entry(match[1]);
    if (!entry || entry.row.revoked_at !== null) return null;
    if (entry.proven !== undefined) return timingSafeEqual(digest ?? sha256(key), entry.proven) ? entry.info : null;
    if (!timingSafeEqual(sha256(match[2]), entry.row.secret_hash)) return null;
    if (entry.until > 0) entry.proven = sha256(key);
    return entry.info;
  }

  /** The stored row of an API key (and what authenticate keeps with it), from the cache while it is fresh (monotonic clock). */
  private async entry(keyId: string): Promise<CachedKey | undefined> {
    if (this.#cacheMs === 0) {
      const row = await this.ctx.store.getApiKey(keyId);
      return row && { row, info: Object.freeze(apiKeyInfo(row)), until: 0 };
    }
    const cached = this.#cache.get(keyId);
    if (cached && cached.until > performance.now()) return cached;
    const row = await this.ctx.store.getApiKey(keyId);
    if (!row) {
      this.#cache.delete(keyId);
      return undefined;
    }
    if (this.#cache.size >= API_KEY_CACHE_ENTRIES) this.#cache.clear();
    const entry: CachedKey = { row, info: Object.freeze(apiKeyInfo(row)), until: performance.now() + this.#cacheMs };
    this.#cache.set(keyId, entry);
    return entry;
  }
}

/** A key's stored row as `authenticate` keeps it: `until` 0 when not cached; `proven`, the SHA-256 of the whole key whose secret matched. */
interface CachedKey {
  row: ApiKeyRow;
  info: Readonly<ApiKeyInfo>;
  until: number;
  proven?: Uint8Array;
}

function apiKeyInfo(row: ApiKeyRow): ApiKeyInfo {
  return { keyId: row.key_id, name: row.name, scope: row.scope, createdAt: row.created_at, revokedAt: row.revoked_at };
}
