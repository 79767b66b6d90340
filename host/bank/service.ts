// The bank's verification service: an authenticated JSON API over the Bank for the bank's
// internet-banking backend (`otp-token bank serve`), on fastify. Each route declares its JSON schema
// beside its handler; validation, the OpenAPI document (GET /openapi.json, @fastify/swagger) and the
// error shape `{ error, message }` all come from those declarations. The routes live in api/, one
// module per group: public.ts (health, the document), issuing.ts, tokens.ts (code checks), admin.ts;
// api/auth.ts authenticates, api/errors.ts answers every error, api/index.ts puts them on an app.
//
// Authentication: `Authorization: Bearer <API key>` (bank.createApiKey). Scope "verify" may
// confirm, verify and resync; "enroll" may issue and relay activation; "admin" may read status and
// the audit trail, unlock, suspend, resume, revoke and export, and nothing else; "login" (older
// keys) is verify+enroll. No key: 401; a key without the scope: 403. Each key has
// a request rate limit (api/rate-limit.ts, per instance); each token has its own growing delay
// after failures (Bank.throttleDelay: 429 + Retry-After). Stateless apart from the store: run as many
// as the store allows. Logs carry method, path (never the query), status and time, never a body.
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import { handleError, sendError } from "./api/errors.js";
import { registerBankApi, type ServiceOptions } from "./api/index.js";
import { DEFAULT_RATE_LIMIT, MAX_BODY_BYTES } from "./limits.js";

export type { MemoryKey } from "./api/auth.js";
export { BANK_ERROR_STATUS, handleError } from "./api/errors.js";
export { registerBankApi, type ServiceOptions } from "./api/index.js";
export { DEFAULT_RATE_LIMIT, MAX_BODY_BYTES };

/** The fastify options the service needs (strict validation: no coercion, unknown fields refused, not stripped). */
export const FASTIFY_OPTIONS = {
  logger: false,
  bodyLimit: MAX_BODY_BYTES,
  ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
} as const;

/** How `log` receives each request's line: "pretty" (text, the default) or "json" (fastify's pino, one object a line). */
export type LogFormat = "pretty" | "json";

/** What the service never logs: request bodies (codes, passwords), headers (the API key), queries. */
const PINO_REDACT = ["req.headers", "req.body", "req.query", "headers", "body", "authorization", "code", "code1", "code2", "password"];

/** A request's path without its query (a query is never logged). */
function pathOf(url: string): string {
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

/** A new fastify instance with the bank's API on it (not listening yet). */
export async function createService(
  options: ServiceOptions & { logFormat?: LogFormat; instrument?: (app: FastifyInstance) => void },
): Promise<FastifyInstance> {
  const json = options.log !== undefined && options.logFormat === "json";
  const app = json
    ? Fastify({
        ...FASTIFY_OPTIONS,
        // fastify's pino, one JSON object per line: the request line below and the service's own errors.
        logger: {
          level: "info",
          base: { service: "otp-token-bank" },
          timestamp: () => `,"time":"${new Date().toISOString()}"`,
          redact: { paths: PINO_REDACT, remove: true },
          stream: { write: (line: string) => options.log!(line.replace(/\n$/, "")) },
        },
        // Not fastify's own request lines (the hook below writes one per request); through a
        // LogController, as fastify 5.12 asks (the top-level option prints a deprecation warning).
        logController: new LogController({ disableRequestLogging: true }),
        genReqId: () => randomUUID(),
      })
    : Fastify(FASTIFY_OPTIONS);
  if (options.log) {
    const log = options.log;
    // A synchronous hook (no promise per request).
    app.addHook("onResponse", (request, reply, done) => {
      if (json) {
        // reqId is bound by fastify; the key's id (never the key), the route's pattern (never its User ID).
        request.log.info(
          {
            method: request.method,
            route: request.routeOptions.url ?? null,
            path: pathOf(request.url),
            status: reply.statusCode,
            responseTimeMs: Number(reply.elapsedTime.toFixed(2)),
            keyId: request.apiKey?.keyId ?? null,
          },
          "request",
        );
      } else {
        log(`${new Date().toISOString()} ${request.method} ${pathOf(request.url)} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`);
      }
      done();
    });
  }
  options.instrument?.(app);
  app.setErrorHandler((error, _request, reply) => handleError(error as Error, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, { error: "not-found", message: `nothing at ${request.method} ${pathOf(request.url)}` }),
  );
  await registerBankApi(app, options);
  return app;
}
