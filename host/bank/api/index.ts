// The bank's API on a fastify instance: the OpenAPI document, the authentication hook (with the
// per-address limit of failed authentications), the per-key rate limit and the route groups, one module each (public, customers, issuing, tokens, transactions, admin), registered in
// this order (the order of the OpenAPI document's paths). `../service.ts` builds a service from it;
// the browser simulator's server (host/web/server.ts) adds it beside its own routes.
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import type { FastifyInstance } from "fastify";
import type { Bank } from "../bank.js";
import { DEFAULT_FAILED_AUTH_LIMIT, DEFAULT_RATE_LIMIT, UNKNOWN_KEY_SECONDS } from "../limits.js";
import { adminRoutes } from "./admin.js";
import { addAuthentication, type MemoryKey } from "./auth.js";
import { customerRoutes } from "./customers.js";
import type { MonotonicClock } from "./auth-guard.js";
import { gatewayRoutes } from "./gateway.js";
import { issuingRoutes } from "./issuing.js";
import { completeDocument, DOCUMENT_EXTRAS, transformRoute } from "./openapi.js";
import { publicRoutes } from "./public.js";
import { readyRoutes } from "./ready.js";
import { tokenRoutes } from "./tokens.js";
import { transactionRoutes } from "./transactions.js";

export interface ServiceOptions {
  bank: Bank;
  memoryKeys?: MemoryKey[];
  /** Requests per minute per API key; default DEFAULT_RATE_LIMIT. */
  rateLimit?: number;
  /**
   * Failed authentications (no key, a malformed, unknown or revoked key, a wrong secret) per minute per
   * client address before its requests are answered 429 without a database read; default
   * DEFAULT_FAILED_AUTH_LIMIT. A key that succeeded on this instance is not held to it.
   */
  failedAuthLimit?: number;
  /** Seconds a key id whose key failed is refused again without a database read; default UNKNOWN_KEY_SECONDS. */
  unknownKeySeconds?: number;
  /** The failure windows' clock (milliseconds, monotonic); default performance.now. */
  monotonicNow?: MonotonicClock;
  /** One line per request (no bodies, no queries); default none. */
  log?: (line: string) => void;
  /** The key (32 bytes) that seals the gateway route's resync state; default a random one per instance (bank serve: from the master key). */
  resyncKey?: Uint8Array;
  /** Outbox folder, so an issue's answer can name its mail (the browser simulator). */
  includeMailId?: boolean;
}

/** Adds the API's routes, authentication, rate limit and OpenAPI document to `app`. */
export async function registerBankApi(app: FastifyInstance, options: ServiceOptions): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "otp-token bank verification service",
        version: "1",
        license: { ...DOCUMENT_EXTRAS.license },
        description:
          "Issue, activation relay, confirmation, verification and administration of one-time-password tokens. Errors: { error, message }.",
      },
      servers: [...DOCUMENT_EXTRAS.servers],
      components: { securitySchemes: { bearer: { ...DOCUMENT_EXTRAS.bearer } } },
    },
    // api/openapi.ts: operationIds, scopes, every status, named schemas, examples.
    transform: transformRoute as never,
    transformObject: (documentObject) =>
      "openapiObject" in documentObject
        ? completeDocument(documentObject.openapiObject as Record<string, unknown>)
        : documentObject.swaggerObject,
  });

  app.decorate("bank", options.bank);
  // JSON only: fastify would otherwise take text/plain bodies and answer 400 rather than 415.
  app.removeContentTypeParser("text/plain");

  addAuthentication(app, {
    memoryKeys: options.memoryKeys ?? [],
    failedAuthLimit: options.failedAuthLimit ?? DEFAULT_FAILED_AUTH_LIMIT,
    unknownKeySeconds: options.unknownKeySeconds ?? UNKNOWN_KEY_SECONDS,
    now: options.monotonicNow ?? (() => performance.now()),
  });

  // POST routes without a body take {} (a body with unknown fields is still refused by its schema).
  app.addHook("preValidation", async (request) => {
    if (request.method === "POST" && request.body === undefined) request.body = {};
  });

  await app.register(rateLimit, {
    global: true,
    hook: "preHandler",
    max: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    timeWindow: 60_000,
    keyGenerator: (request) => (request.apiKey ? `key:${request.apiKey.keyId}` : `ip:${request.ip}`),
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: "rate-limited",
      message: `this API key made more than ${context.max} requests in a minute: retry in ${context.after}`,
    }),
  });

  // Each group is an encapsulated plugin: the hooks, the error handler and the decorators above reach it.
  await app.register(publicRoutes);
  await app.register(readyRoutes);
  await app.register(customerRoutes);
  await app.register(issuingRoutes, { includeMailId: options.includeMailId });
  await app.register(tokenRoutes);
  await app.register(gatewayRoutes, { resyncKey: options.resyncKey });
  await app.register(transactionRoutes);
  await app.register(adminRoutes);
}
