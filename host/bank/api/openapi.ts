// The OpenAPI document's completion (GET /openapi.json, @fastify/swagger): what the routes' own
// schemas do not say. Each operation gets an operationId, the scope its key needs (`x-scope`, and in
// the bearer scheme's description: OpenAPI 3.0 lists scopes for OAuth only), and every status it can
// answer instead of "4XX": the key's (401, 403, 429), validation's (400, 413, 415), the bank's refusals
// of that route (api/errors.ts BANK_ERROR_STATUS) and the store's 503 + Retry-After. The shared
// schemas (api/schemas.ts, titled) become named components referenced by $ref; examples and
// `servers` are added. `redocly lint` runs on the written document (npm run lint).
import type { BankErrorCode } from "../errors.js";
import { BANK_ERROR_STATUS } from "./errors.js";
import { ERROR } from "./schemas.js";

/** operationId of each route, by "METHOD /path" (OpenAPI form); a route not listed gets one made from its path. */
const OPERATION_IDS: Record<string, string> = {
  "GET /v1/health": "getHealth",
  "GET /v1/ready": "getReadiness",
  "POST /v1/issues": "createIssue",
  "POST /v1/activations": "relayActivationRequest",
  "POST /v1/registrations": "relayRegistration",
  "POST /v1/tokens/{userId}/confirm": "confirmToken",
  "POST /v1/tokens/{userId}/verify": "verifyCode",
  "POST /v1/tokens/{userId}/resync": "resyncToken",
  "POST /v1/tokens/{userId}/authenticate": "authenticateCode",
  "GET /v1/tokens/{userId}": "getTokenStatus",
  "POST /v1/tokens/{userId}/unlock": "unlockToken",
  "POST /v1/tokens/{userId}/suspend": "suspendToken",
  "POST /v1/tokens/{userId}/resume": "resumeToken",
  "POST /v1/tokens/{userId}/revoke": "revokeToken",
  "GET /v1/status": "getOverview",
  "GET /v1/audit": "listAuditEvents",
  "POST /v1/export/pskc": "exportPskc",
};

const CODE_CHECK: BankErrorCode[] = ["unknown", "locked", "suspended", "revoked", "token-expired", "invalid-code", "throttled"];

/** The bank's refusals each route answers as errors (a code check's wrong code is an answer: 200). */
const ROUTE_ERRORS: Record<string, BankErrorCode[]> = {
  "POST /v1/issues": [
    "mail-length",
    "mail-characters",
    "mail-format",
    "mail-mismatch",
    "password-length",
    "password-characters",
    "password-mismatch",
    "issue-numbers-used",
    "unknown",
    "state",
  ],
  "POST /v1/activations": ["malformed", "unknown", "expired", "issue-void", "replayed"],
  "POST /v1/registrations": ["malformed", "unknown", "expired", "issue-void", "replayed", "wrong-confirmation"],
  "POST /v1/tokens/{userId}/confirm": ["unknown", "not-activated", "already-confirmed", "expired", "invalid-code"],
  "POST /v1/tokens/{userId}/verify": CODE_CHECK,
  "POST /v1/tokens/{userId}/resync": CODE_CHECK,
  "POST /v1/tokens/{userId}/authenticate": CODE_CHECK,
  "POST /v1/tokens/{userId}/unlock": ["unknown", "state"],
  "POST /v1/tokens/{userId}/suspend": ["unknown", "state"],
  "POST /v1/tokens/{userId}/resume": ["unknown", "state"],
  "POST /v1/tokens/{userId}/revoke": ["unknown", "state"],
  "POST /v1/export/pskc": ["pskc", "unknown"],
};

const STATUS_TEXT: Record<number, string> = {
  400: "a field of the wrong form, or a refusal of the request's content (`error` says which)",
  401: "no API key, or not a valid one (WWW-Authenticate: Bearer)",
  403: "the API key's scope does not allow this route",
  404: "no such User ID, issue or route",
  409: "the request does not apply to the current state (`error` says why)",
  410: "the issue expired or is void: issue again",
  413: "the body is too large",
  415: "the body is not JSON",
  422: "the token's confirmation does not match its session",
  423: "the token is locked, suspended, revoked or expired",
  429: "too many requests (per API key, or failed authentications per address) or a throttled token: Retry-After",
  500: "the service failed (details only in its log)",
  503: "the database is busy or unreachable: retry after Retry-After",
};

const RETRY_AFTER = {
  "Retry-After": { description: "seconds to wait before retrying", schema: { type: "integer", minimum: 0 } },
};

type Json = Record<string, unknown>;

/** @fastify/swagger's per-route transform: the operationId and the scope (x-scope) from the route's config. */
export function transformRoute({
  schema,
  url,
  route,
}: {
  schema: Json;
  url: string;
  route: { method: string | string[]; config?: Json };
}): {
  schema: Json;
  url: string;
} {
  if (!schema || schema.hide) return { schema, url };
  const method = (Array.isArray(route.method) ? route.method[0] : route.method).toUpperCase();
  const path = url.replace(/:(\w+)/g, "{$1}");
  const scope = route.config?.scope as string | undefined;
  return {
    url,
    schema: {
      ...schema,
      operationId: OPERATION_IDS[`${method} ${path}`] ?? madeUpOperationId(method, path),
      ...(scope ? { "x-scope": scope } : { security: [] }),
    },
  };
}

function madeUpOperationId(method: string, path: string): string {
  const words = path
    .split(/[^A-Za-z0-9]+/)
    .filter((word) => word !== "" && word !== "v1")
    .map((word) => word[0].toUpperCase() + word.slice(1));
  return `${method.toLowerCase()}${words.join("")}`;
}

/** @fastify/swagger's transformObject: explicit statuses, named components, examples, servers. */
export function completeDocument(document: Json): Json {
  const doc = document as {
    paths?: Record<string, Record<string, Json>>;
    components?: { schemas?: Record<string, Json>; securitySchemes?: Json };
  };
  doc.components ??= {};
  doc.components.schemas ??= {};
  const schemas = doc.components.schemas;

  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      const key = `${method.toUpperCase()} ${path}`;
      operation.responses ??= {};
      const responses = operation.responses as Record<string, Json>;
      const errorShape = responses["4XX"] ?? responses["4xx"];
      delete responses["4XX"];
      delete responses["4xx"];
      const errorSchema =
        (errorShape?.content as Record<string, { schema: Json }> | undefined)?.["application/json"]?.schema ?? structuredClone(ERROR);
      const scope = operation["x-scope"] as string | undefined;
      const statuses = new Set<number>([500, 503]);
      if (scope) {
        statuses.add(401);
        statuses.add(429);
        // Every scope is one a key may lack (a verify key on an enroll route, an admin key on a code check).
        statuses.add(403);
      }
      if (operation.requestBody || operation.parameters) statuses.add(400);
      if (operation.requestBody) {
        statuses.add(413);
        statuses.add(415);
      }
      for (const code of ROUTE_ERRORS[key] ?? []) statuses.add(BANK_ERROR_STATUS[code]);
      for (const status of [...statuses].sort()) {
        if (responses[String(status)]) continue;
        const headers =
          status === 429 || status === 503
            ? RETRY_AFTER
            : status === 401
              ? { "WWW-Authenticate": { schema: { type: "string" } } }
              : undefined;
        responses[String(status)] = {
          description: STATUS_TEXT[status] ?? "refused",
          ...(headers ? { headers } : {}),
          content: { "application/json": { schema: errorSchema } },
        };
      }
      if (key === "POST /v1/tokens/{userId}/authenticate" && responses["401"])
        responses["401"].description = "a wrong or replayed code (X-OTP-Reason), or no valid API key";
      for (const [status, response] of Object.entries(responses)) {
        if (!response.description || response.description === "Default Response") {
          response.description = STATUS_TEXT[Number(status)] ?? (Number(status) < 300 ? "done" : "refused");
        }
        if ((status === "503" || status === "429") && !response.headers) response.headers = RETRY_AFTER;
      }
      if (!operation.summary) operation.summary = key;
    }
  }
  nameSchemas(doc.paths, schemas);
  for (const [name, example] of Object.entries(EXAMPLES)) if (schemas[name]) schemas[name].example = example;
  return document;
}

/** Every schema object titled (api/schemas.ts) becomes components.schemas[title], referenced by $ref. */
function nameSchemas(node: unknown, schemas: Record<string, Json>): unknown {
  if (Array.isArray(node)) return node.map((item) => nameSchemas(item, schemas));
  if (node === null || typeof node !== "object") return node;
  const object = node as Json;
  for (const [key, value] of Object.entries(object)) object[key] = nameSchemas(value, schemas);
  const title = object.title;
  if (typeof title === "string" && /^[A-Z][A-Za-z]+$/.test(title)) {
    schemas[title] ??= { ...object };
    return { $ref: `#/components/schemas/${title}` };
  }
  return object;
}

const EXAMPLES: Record<string, unknown> = {
  Error: {
    error: "locked",
    message: "this token is locked after too many wrong codes: ask the bank to unlock it",
    messageJa: "トークンがロックされています。銀行にロック解除をご依頼ください。",
    attemptsLeft: 0,
  },
  CheckResult: {
    accepted: false,
    reason: "wrong-code",
    attemptsLeft: 9,
    retryAfterSeconds: 1,
    message: "wrong code (9 attempts left before the token locks)",
  },
  GatewayRefusal: {
    error: "wrong-code",
    message: "wrong code (9 attempts left before the token locks)",
    attemptsLeft: 9,
    retryAfterSeconds: 1,
    replyMessage: "wrong code (9 attempts left before the token locks)",
  },
};

/** The document's servers and the key's description (the scopes). */
export const DOCUMENT_EXTRAS = {
  servers: [{ url: "http://127.0.0.1:8788", description: "bank serve on its default address (--host, --port)" }],
  license: { name: "MIT", url: "https://opensource.org/licenses/MIT" },
  bearer: {
    type: "http",
    scheme: "bearer",
    description:
      "an API key from 'otp-token bank api-key create --scope SCOPE'. Each operation's x-scope names the scope it needs: verify (confirm, verify, resync, authenticate), enroll (issue, activation relay, registration) or admin (status, lifecycle, audit, export, and nothing else); a key made as login (before the split) has verify and enroll. No key: 401; a key without the scope: 403.",
  },
} as const;
