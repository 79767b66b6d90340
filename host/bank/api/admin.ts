// Administration (scope admin): a token's status, the lifecycle (unlock, suspend, resume, revoke),
// the overview, the audit trail and the PSKC export.
import type { FastifyInstance } from "fastify";
import { readPskcOptions } from "../pskc.js";
import { actor, admin } from "./auth.js";
import { writePskcOffLoop } from "./pskc-off-loop.js";
import { bearer, ERROR, NO_BODY, TOKEN_STATUS, USER_ID } from "./schemas.js";

export async function adminRoutes(app: FastifyInstance): Promise<void> {
  const { bank } = app;
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
        return { count: secrets.length, pskc: await writePskcOffLoop(secrets, encryption) };
      } finally {
        for (const secret of secrets) secret.seed.fill(0);
      }
    },
  );
}
