// The bank's verification service: an authenticated JSON API over the Bank for the bank's
// internet-banking backend (`otp-token bank serve`), on fastify. Each route declares its JSON schema
// beside its handler; validation, the OpenAPI document (GET /openapi.json, @fastify/swagger) and the
// error shape `{ error, message }` all come from those declarations.
//
// Authentication: `Authorization: Bearer <API key>` (bank.createApiKey). Scope "login" may issue,
// relay activation, confirm, verify and resync; "admin" may also read status and the audit trail,
// unlock, suspend, resume, revoke and export. No key: 401; a key without the scope: 403. Each key has
// a request rate limit (@fastify/rate-limit, per instance); each token has its own growing delay
// after failures (Bank.throttleDelay: 429 + Retry-After). Stateless apart from the store: run as many
// as the store allows. Logs carry method, path (never the query), status and time, never a body.
import { timingSafeEqual } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { ApiKeyInfo, Bank } from "./bank.js";
import { BankError, type BankErrorCode } from "./errors.js";
import { readPskcOptions, writePskc } from "./pskc.js";
import { type ApiScope, StoreBusyError } from "./store.js";

import { DEFAULT_RATE_LIMIT, MAX_BODY_BYTES } from "./limits.js";

export { DEFAULT_RATE_LIMIT, MAX_BODY_BYTES };

/** HTTP status of each bank refusal that is an error (the outcomes of a code check are 200 with accepted: false). */
export const BANK_ERROR_STATUS: Record<BankErrorCode, number> = {
  "mail-length": 400,
  "mail-characters": 400,
  "mail-format": 400,
  "mail-mismatch": 400,
  "password-length": 400,
  "password-characters": 400,
  "password-mismatch": 400,
  "otp-parameters": 400,
  "issue-numbers-used": 409,
  malformed: 400,
  "invalid-code": 400,
  settings: 400,
  pskc: 400,
  "wrong-confirmation": 422,
  "wrong-code": 422,
  unknown: 404,
  replayed: 409,
  "not-activated": 409,
  "already-confirmed": 409,
  state: 409,
  expired: 410,
  "issue-void": 410,
  locked: 423,
  suspended: 423,
  revoked: 423,
  "token-expired": 423,
  throttled: 429,
  "master-key": 500,
};

/** The outcomes of a code check that are answers, not errors: 200 { accepted: false, reason, ... }. */
const CHECK_OUTCOMES: ReadonlySet<BankErrorCode> = new Set(["wrong-code", "replayed", "issue-void"]);

/** A key the service holds in memory only (the browser simulator's own login key). */
export interface MemoryKey {
  key: string;
  scope: ApiScope;
  /** Recorded as the actor in the audit trail. */
  actor: string;
}

export interface ServiceOptions {
  bank: Bank;
  memoryKeys?: MemoryKey[];
  /** Requests per minute per API key; default DEFAULT_RATE_LIMIT. */
  rateLimit?: number;
  /** One line per request (no bodies, no queries); default none. */
  log?: (line: string) => void;
  /** Outbox folder, so an issue's answer can name its mail (the browser simulator). */
  includeMailId?: boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    apiKey: (ApiKeyInfo & { actor: string }) | null;
  }
  interface FastifyContextConfig {
    /** The scope a route needs; none: public. */
    scope?: ApiScope;
  }
}

const USER_ID = { type: "string", pattern: "^[0-9A-Z]{16}$", description: "User ID (16 upper-case letters and digits)" } as const;
const CODE = { type: "string", maxLength: 16, description: "the code the token shows (6-8 digits)" } as const;
const ERROR = {
  type: "object",
  properties: {
    error: { type: "string" },
    message: { type: "string" },
    messageJa: { type: "string" },
    attemptsLeft: { type: "integer" },
    retryAfterSeconds: { type: "integer" },
  },
  required: ["error", "message"],
} as const;
const CHECK_RESULT = {
  type: "object",
  properties: {
    accepted: { type: "boolean" },
    offset: { type: "integer", description: "matched step minus the expected step" },
    driftSteps: { type: "integer" },
    reason: { type: "string", enum: ["wrong-code", "replayed", "issue-void"] },
    attemptsLeft: {
      type: "integer",
      description: "wrong codes still allowed before the token locks (verify) or the issue is void (confirm)",
    },
    retryAfterSeconds: { type: "integer", description: "seconds before the next check is allowed" },
    message: { type: "string" },
    messageJa: { type: "string" },
  },
  required: ["accepted"],
} as const;
const TOKEN_STATUS = {
  type: "object",
  additionalProperties: true,
  properties: {
    userId: { type: "string" },
    serviceId: { type: ["string", "null"] },
    customerNumber: { type: ["string", "null"] },
    issue: { type: ["object", "null"], additionalProperties: true },
    token: { type: ["object", "null"], additionalProperties: true },
    events: { type: "array", items: { type: "object", additionalProperties: true } },
  },
} as const;
const NO_BODY = { type: "object", additionalProperties: false, properties: {} } as const;
const bearer = [{ bearer: [] }];

function errorBody(error: BankError): Record<string, unknown> {
  return {
    error: error.code,
    message: error.message,
    ...(error.ja === undefined ? {} : { messageJa: error.ja }),
    ...(error.attemptsLeft === undefined ? {} : { attemptsLeft: error.attemptsLeft }),
    ...(error.details.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.details.retryAfterSeconds }),
  };
}

/**
 * The IDs an activation message carries (bytes 2..26: docs/activation.md messages 1 and 3) must be the
 * ones the caller routed it by. A message too short to carry them is the bank's to refuse as malformed.
 */
function carriesIds(bytes: Uint8Array, body: { serviceId: string; userId: string }, what: string): void {
  if (bytes.length < 26) return;
  if (Buffer.from(bytes.subarray(2, 26)).toString("latin1") !== body.serviceId + body.userId) {
    throw new BankError("malformed", `malformed activation ${what}: it names another Service ID or User ID than the body`);
  }
}

/** A code check's answer: accepted, or the refusal that counted as a failed attempt. */
async function checkOutcome(run: () => Promise<{ offset: number; driftSteps: number }>): Promise<Record<string, unknown>> {
  try {
    const result = await run();
    return { accepted: true, offset: result.offset, driftSteps: result.driftSteps };
  } catch (error) {
    if (error instanceof BankError && CHECK_OUTCOMES.has(error.code)) {
      const { error: reason, ...rest } = errorBody(error);
      return { accepted: false, reason, ...rest };
    }
    throw error;
  }
}

function sendError(reply: FastifyReply, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(status).headers(headers).type("application/json; charset=utf-8").send(body);
}

/** Maps every error to `{ error, message }` with its status; nothing about an unexpected failure reaches the client. */
export function handleError(error: FastifyError | Error, reply: FastifyReply): FastifyReply {
  if (error instanceof BankError) {
    const retry = error.details.retryAfterSeconds;
    return sendError(
      reply,
      BANK_ERROR_STATUS[error.code] ?? 500,
      errorBody(error),
      error.code === "throttled" && retry !== undefined ? { "Retry-After": String(retry) } : {},
    );
  }
  if (error instanceof StoreBusyError) {
    return sendError(reply, 503, { error: "busy", message: error.message }, { "Retry-After": String(error.retryAfterSeconds) });
  }
  const fastifyError = error as FastifyError & { validationContext?: string };
  if (fastifyError.validation) {
    return sendError(reply, 400, { error: "bad-request", message: fastifyError.message });
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 429) return sendError(reply, 429, { error: "rate-limited", message: fastifyError.message });
  if (status >= 400 && status < 500) {
    const code =
      status === 413
        ? "too-large"
        : status === 415
          ? "unsupported-media-type"
          : status === 404
            ? "not-found"
            : status === 405
              ? "method-not-allowed"
              : "bad-request";
    return sendError(reply, status, { error: code, message: fastifyError.message });
  }
  process.stderr.write(`otp-token bank service: internal error: ${error?.stack ?? String(error)}\n`);
  return sendError(reply, 500, { error: "internal", message: "the service failed; see its log" });
}

/** The fastify options the service needs (strict validation: no coercion, unknown fields refused, not stripped). */
export const FASTIFY_OPTIONS = {
  logger: false,
  bodyLimit: MAX_BODY_BYTES,
  ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
} as const;

/** A new fastify instance with the bank's API on it (not listening yet). */
export async function createService(options: ServiceOptions): Promise<FastifyInstance> {
  const app = Fastify(FASTIFY_OPTIONS);
  if (options.log) {
    const log = options.log;
    app.addHook("onResponse", async (request, reply) => {
      log(
        `${new Date().toISOString()} ${request.method} ${request.url.split("?")[0]} ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`,
      );
    });
  }
  app.setErrorHandler((error, _request, reply) => handleError(error as Error, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, 404, { error: "not-found", message: `nothing at ${request.method} ${request.url.split("?")[0]}` }),
  );
  await registerBankApi(app, options);
  return app;
}

/** Adds the API's routes, authentication, rate limit and OpenAPI document to `app`. */
export async function registerBankApi(app: FastifyInstance, options: ServiceOptions): Promise<void> {
  const { bank } = options;
  const memoryKeys = (options.memoryKeys ?? []).map((k) => ({ ...k, bytes: Buffer.from(k.key, "utf8") }));

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "otp-token bank verification service",
        version: "1",
        description:
          "Issue, activation relay, confirmation, verification and administration of one-time-password tokens. Errors: { error, message }.",
      },
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "an API key from 'otp-token bank api-key create'" } },
      },
    },
  });

  app.decorateRequest("apiKey", null);
  // JSON only: fastify would otherwise take text/plain bodies and answer 400 rather than 415.
  app.removeContentTypeParser("text/plain");

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

  const actor = (request: FastifyRequest) => request.apiKey?.actor ?? "api";
  const login = { scope: "login" as const };
  const admin = { scope: "admin" as const };

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get(
    "/v1/health",
    {
      schema: {
        summary: "whether the service and its database answer (503 + Retry-After when the database does not)",
        response: {
          200: {
            type: "object",
            properties: {
              status: { type: "string" },
              store: { type: "string" },
              database: { type: "string" },
              serviceId: { type: "string" },
              mailDomain: { type: "string" },
            },
          },
          503: ERROR,
        },
      },
    },
    async () => {
      // A read through the same pool or worker the requests use: a StoreBusyError here answers 503.
      await bank.store.getSetting("service_id");
      // The Service ID and the sending domain are public: the issue screen shows them.
      return { status: "ok", store: bank.store.kind, database: "reachable", serviceId: bank.serviceId, mailDomain: bank.mailDomain };
    },
  );

  app.post(
    "/v1/issues",
    {
      config: login,
      schema: {
        summary: "token issue (トークン発行): mail address and 利用開始パスワード, each typed twice",
        security: bearer,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["mail", "mailConfirm", "password", "passwordConfirm"],
          properties: {
            mail: { type: "string", maxLength: 256 },
            mailConfirm: { type: "string", maxLength: 256 },
            password: { type: "string", maxLength: 64 },
            passwordConfirm: { type: "string", maxLength: 64 },
            userId: { ...USER_ID, description: "a re-set-up: a User ID of the customer (the current token's)" },
          },
        },
        response: {
          201: {
            type: "object",
            properties: {
              serviceId: { type: "string" },
              userId: { type: "string" },
              mail: { type: "string" },
              expiresAt: { type: "integer" },
              tokenExpiresAt: { type: "integer" },
              mailId: { type: "string" },
            },
          },
          "4xx": ERROR,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { mail: string; mailConfirm: string; password: string; passwordConfirm: string; userId?: string };
      const issued = await bank.issue(body, actor(request));
      reply.code(201);
      return {
        serviceId: issued.serviceId,
        userId: issued.userId,
        mail: issued.mail,
        expiresAt: issued.expiresAt,
        tokenExpiresAt: issued.tokenExpiresAt,
        ...(options.includeMailId && issued.mailId ? { mailId: issued.mailId } : {}),
      };
    },
  );

  app.post(
    "/v1/activations",
    {
      config: login,
      schema: {
        summary: "送信: relays a token's activation request (docs/activation.md message 1) and returns the bank's response (message 2)",
        security: bearer,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["serviceId", "userId", "request"],
          properties: {
            serviceId: { type: "string", pattern: "^[0-9]{8}$" },
            userId: USER_ID,
            request: { type: "string", maxLength: 1024, pattern: "^[A-Za-z0-9+/]*={0,2}$", description: "the request bytes, base64" },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              response: { type: "string", description: "message 2, base64: the token's 登録 takes it" },
              attemptsLeft: {
                type: "integer",
                description:
                  "attempts left before the issue is void if the token refuses this answer at 登録 (a wrong activation password shows only there)",
              },
            },
          },
          "4xx": ERROR,
        },
      },
    },
    async (request) => {
      const body = request.body as { serviceId: string; userId: string; request: string };
      const bytes = new Uint8Array(Buffer.from(body.request, "base64"));
      carriesIds(bytes, body, "request");
      const answer = await bank.activate(bytes, actor(request));
      return { response: Buffer.from(answer.response).toString("base64"), attemptsLeft: answer.attemptsLeft };
    },
  );

  app.post(
    "/v1/registrations",
    {
      config: login,
      schema: {
        summary:
          "登録: relays the token's confirmation (docs/activation.md message 3) after it stored the profile; its first code can then be confirmed",
        security: bearer,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["serviceId", "userId", "confirmation"],
          properties: {
            serviceId: { type: "string", pattern: "^[0-9]{8}$" },
            userId: USER_ID,
            confirmation: {
              type: "string",
              maxLength: 1024,
              pattern: "^[A-Za-z0-9+/]*={0,2}$",
              description: "the confirmation bytes, base64",
            },
          },
        },
        response: {
          200: { type: "object", properties: { serial: { type: "string", description: "the token's serial, 16 hex digits" } } },
          "4xx": ERROR,
        },
      },
    },
    async (request) => {
      const body = request.body as { serviceId: string; userId: string; confirmation: string };
      const bytes = new Uint8Array(Buffer.from(body.confirmation, "base64"));
      carriesIds(bytes, body, "confirmation");
      return bank.register(bytes, actor(request));
    },
  );

  const checkRoute = (summary: string, body: object) => ({
    config: login,
    schema: {
      summary,
      security: bearer,
      params: { type: "object", properties: { userId: USER_ID }, required: ["userId"] },
      body,
      response: { 200: CHECK_RESULT, "4xx": ERROR },
    },
  });
  const codeBody = { type: "object", additionalProperties: false, required: ["code"], properties: { code: CODE } };

  app.post(
    "/v1/tokens/:userId/confirm",
    checkRoute("認証確認: the activated token's first code makes it the customer's active token", codeBody),
    async (request) => {
      const { userId } = request.params as { userId: string };
      return checkOutcome(() => bank.confirm(userId, (request.body as { code: string }).code, actor(request)));
    },
  );

  app.post("/v1/tokens/:userId/verify", checkRoute("a login code", codeBody), async (request) => {
    const { userId } = request.params as { userId: string };
    return checkOutcome(() => bank.verify(userId, (request.body as { code: string }).code, actor(request)));
  });

  app.post(
    "/v1/tokens/:userId/resync",
    checkRoute("two consecutive codes re-synchronise a drifted token", {
      type: "object",
      additionalProperties: false,
      required: ["code1", "code2"],
      properties: { code1: CODE, code2: CODE },
    }),
    async (request) => {
      const { userId } = request.params as { userId: string };
      const { code1, code2 } = request.body as { code1: string; code2: string };
      return checkOutcome(() => bank.resync(userId, code1, code2, actor(request)));
    },
  );

  const userParams = { type: "object", properties: { userId: USER_ID }, required: ["userId"] } as const;

  app.get(
    "/v1/tokens/:userId",
    {
      config: admin,
      schema: {
        summary: "what the bank knows about a User ID (no secrets)",
        security: bearer,
        params: userParams,
        response: { 200: TOKEN_STATUS, "4xx": ERROR },
      },
    },
    async (request) => bank.status((request.params as { userId: string }).userId),
  );

  for (const action of ["unlock", "suspend", "resume", "revoke"] as const) {
    app.post(
      `/v1/tokens/:userId/${action}`,
      {
        config: admin,
        schema: {
          summary: {
            unlock: "clears the lock, the failure count and the throttling delay",
            suspend: "no code accepted until resume (the token is reported missing)",
            resume: "codes accepted again",
            revoke: "final: the token is lost or stolen",
          }[action],
          security: bearer,
          params: userParams,
          body: NO_BODY,
          response: {
            200: { type: "object", properties: { userId: { type: "string" }, state: { type: "string" }, locked: { type: "boolean" } } },
            "4xx": ERROR,
          },
        },
      },
      async (request) => {
        const { userId } = request.params as { userId: string };
        await bank[action](userId, actor(request));
        const { token } = await bank.status(userId);
        return { userId, state: token?.state, locked: token?.locked };
      },
    );
  }

  app.get(
    "/v1/status",
    {
      config: admin,
      schema: {
        summary: "tokens by state, and the tokens due for renewal within 30 days",
        security: bearer,
        response: {
          200: {
            type: "object",
            additionalProperties: true,
            properties: {
              serviceId: { type: "string" },
              mailDomain: { type: "string" },
              tokens: { type: "object", additionalProperties: true },
              dueForRenewal: { type: "array", items: { type: "object", additionalProperties: true } },
            },
          },
        },
      },
    },
    async () => bank.overview(),
  );

  app.get(
    "/v1/audit",
    {
      config: admin,
      schema: {
        summary: "the audit trail after event id `since`, oldest first",
        security: bearer,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: { since: { type: "string", pattern: "^[0-9]{1,15}$" }, limit: { type: "string", pattern: "^[0-9]{1,4}$" } },
        },
        response: {
          200: {
            type: "object",
            properties: { events: { type: "array", items: { type: "object", additionalProperties: true } }, next: { type: "integer" } },
          },
          "4xx": ERROR,
        },
      },
    },
    async (request) => {
      const query = request.query as { since?: string; limit?: string };
      const since = Number(query.since ?? 0);
      const limit = Math.min(Math.max(Number(query.limit ?? 100), 1), 1000);
      const events = await bank.auditEvents(since, limit);
      return { events, next: events.length > 0 ? events[events.length - 1].id : since };
    },
  );

  app.post(
    "/v1/export/pskc",
    {
      config: admin,
      // A thousand User IDs do not fit the other routes' 4 KiB.
      bodyLimit: 64 * 1024,
      schema: {
        summary: "exports tokens' seeds as an encrypted PSKC document (RFC 6030 §6.1 pre-shared key or §6.2 PBE)",
        security: bearer,
        body: {
          type: "object",
          additionalProperties: false,
          properties: {
            userIds: { type: "array", maxItems: 1000, items: USER_ID, description: "default: every unrevoked token" },
            passphrase: { type: "string", minLength: 12, maxLength: 256, description: "RFC 6030 §6.2: PBKDF2 key derived from it" },
            key: {
              type: "string",
              pattern: "^([0-9a-fA-F]{32}|[0-9a-fA-F]{64})$",
              description: "RFC 6030 §6.1: a pre-shared AES-128/256 key, hex",
            },
            keyName: { type: "string", maxLength: 100 },
          },
        },
        response: { 200: { type: "object", properties: { count: { type: "integer" }, pskc: { type: "string" } } }, "4xx": ERROR },
      },
    },
    async (request) => {
      const body = request.body as { userIds?: string[]; passphrase?: string; key?: string; keyName?: string };
      const encryption = readPskcOptions(body);
      const secrets = await bank.exportSecrets(body.userIds, actor(request));
      try {
        return { count: secrets.length, pskc: writePskc(secrets, encryption) };
      } finally {
        for (const secret of secrets) secret.seed.fill(0);
      }
    },
  );
}
