// The JSON schemas more than one route group uses: the wire forms of a User ID and a code, the error
// shape `{ error, message }`, a code check's answer. Each route's own body and answer stay beside its
// handler. These objects are shared, not copied, as they were when the service was one file: the
// OpenAPI document (GET /openapi.json) is generated from them, byte for byte.

export const USER_ID = { type: "string", pattern: "^[0-9A-Z]{16}$", description: "User ID (16 upper-case letters and digits)" } as const;
export const CODE = { type: "string", maxLength: 16, description: "the code the token shows (6-8 digits)" } as const;
/** Every refusal's body (api/errors.ts `errorBody`). */
export const ERROR = {
  title: "Error",
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
export const CHECK_RESULT = {
  title: "CheckResult",
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
export const TOKEN_STATUS = {
  title: "TokenStatus",
  type: "object",
  additionalProperties: true,
  properties: {
    userId: { type: "string" },
    serviceId: { type: ["string", "null"] },
    customerNumber: { type: ["string", "null"] },
    issue: { type: ["object", "null"], additionalProperties: true },
    token: {
      type: ["object", "null"],
      additionalProperties: true,
      properties: {
        userId: { type: "string" },
        serial: { type: "string", description: "16 hex digits" },
        algorithm: { type: "string" },
        digits: { type: "integer" },
        period: { type: "integer" },
        label: { type: "string" },
        state: { type: "string", enum: ["active", "suspended", "revoked"] },
        driftSteps: { type: "integer" },
        lastStep: { type: "integer" },
        consecutiveFailures: { type: "integer" },
        locked: { type: "boolean" },
        nextCheckAt: { type: "integer", description: "unix seconds before which no code is checked (0: none)" },
        activatedAt: { type: "integer" },
        expiresAt: { type: "integer" },
        lastSuccessAt: { type: ["integer", "null"] },
      },
      required: ["serial", "state", "locked", "consecutiveFailures"],
    },
    events: { type: "array", items: { type: "object", additionalProperties: true } },
  },
  required: ["userId", "serviceId", "customerNumber", "issue", "token", "events"],
} as const;
export const NO_BODY = { type: "object", additionalProperties: false, properties: {} } as const;
/** The OpenAPI security requirement of every route that needs a key. */
export const bearer = [{ bearer: [] }];
