// Authentication: `Authorization: Bearer <API key>` (bank.createApiKey), checked by one onRequest
// hook for every route whose config names a scope. Scope "login" may issue, relay activation,
// confirm, verify and resync; "admin" may also read status and the audit trail, unlock, suspend,
// resume, revoke and export. No key: 401; a key without the scope: 403. Also the state the hooks and
// handlers share (fastify decorators): the app's `bank`, the request's `apiKey`.
import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ApiKeyInfo, Bank } from "../bank.js";
import type { ApiScope } from "../store.js";
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
    /** The scope a route needs; none: public. */
    scope?: ApiScope;
  }
}

/** Route configs: the scope each route group needs. */
export const login = { scope: "login" as const };
export const admin = { scope: "admin" as const };

/** Who acts, for the audit trail: `key:<id>` for a stored key, a memory key's actor. */
export const actor = (request: FastifyRequest) => request.apiKey?.actor ?? "api";

/** Adds `request.apiKey` and the hook that sets it (or answers 401/403) on every route that names a scope. */
export function addAuthentication(app: FastifyInstance, memoryKeyList: MemoryKey[]): void {
  const { bank } = app;
  const memoryKeys = memoryKeyList.map((k) => ({ ...k, bytes: Buffer.from(k.key, "utf8") }));

  app.decorateRequest("apiKey", null);

  async function keyOf(header: string | undefined): Promise<(ApiKeyInfo & { actor: string }) | null> {
    const match = /^Bearer +(\S+)$/i.exec(header ?? "");
    if (!match) return null;
    const given = Buffer.from(match[1], "utf8");
    for (const k of memoryKeys) {
      if (k.bytes.length === given.length && timingSafeEqual(k.bytes, given)) {
        return { keyId: k.actor, name: k.actor, scope: k.scope, createdAt: 0, revokedAt: null, actor: k.actor };
      }
    }
    const found = await bank.authenticate(match[1]);
    return found && { ...found, actor: `key:${found.keyId}` };
  }

  app.addHook("onRequest", async (request: FastifyRequest, reply: FastifyReply) => {
    const needed = request.routeOptions.config?.scope;
    if (needed === undefined) return;
    const key = await keyOf(request.headers.authorization);
    if (!key) {
      return sendError(
        reply,
        401,
        { error: "unauthorized", message: "this route needs an API key: send Authorization: Bearer KEY (otp-token bank api-key create)" },
        { "WWW-Authenticate": 'Bearer realm="otp-token bank"' },
      );
    }
    if (needed === "admin" && key.scope !== "admin") {
      return sendError(reply, 403, {
        error: "forbidden",
        message: `this route needs an API key of scope admin; this key has scope ${key.scope}`,
      });
    }
    request.apiKey = key;
  });
}
