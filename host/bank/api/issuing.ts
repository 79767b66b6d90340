// Issue and activation relay (scope enroll): POST /v1/issues (トークン発行), /v1/activations (送信,
// docs/activation.md message 1 → 2) and /v1/registrations (登録, message 3).
import type { FastifyInstance } from "fastify";
import { BankError } from "../errors.js";
import { actor, enroll } from "./auth.js";
import { bearer, ERROR, USER_ID } from "./schemas.js";

export interface IssuingOptions {
  /** Outbox folder, so an issue's answer can name its mail (the browser simulator). */
  includeMailId?: boolean;
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

export async function issuingRoutes(app: FastifyInstance, options: IssuingOptions): Promise<void> {
  const { bank } = app;

  app.post(
    "/v1/issues",
    {
      config: enroll,
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
            ticket: {
              type: "string",
              maxLength: 128,
              description: "a logged-in customer's issue (POST /v1/logins): a re-set-up when it has a token",
            },
            customerReference: {
              type: "string",
              maxLength: 64,
              description: "an issue for the customer the bank's backend named (PUT /v1/customers/{reference})",
            },
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
              mailId: { type: "string", description: "the set-up mail's id in the outbox (the browser simulator's server only)" },
            },
            required: ["serviceId", "userId", "mail", "expiresAt", "tokenExpiresAt"],
          },
          "4xx": ERROR,
        },
      },
    },
    async (request, reply) => {
      const body = request.body as {
        mail: string;
        mailConfirm: string;
        password: string;
        passwordConfirm: string;
        userId?: string;
        ticket?: string;
        customerReference?: string;
      };
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
    "/v1/issues/:userId/withdraw",
    {
      config: enroll,
      schema: {
        summary: "戻る: the logged-in customer leaves the 認証確認 screen; its pending issue at this User ID is void",
        security: bearer,
        params: { type: "object", properties: { userId: USER_ID }, required: ["userId"] },
        body: {
          type: "object",
          additionalProperties: false,
          required: ["ticket"],
          properties: { ticket: { type: "string", maxLength: 128 } },
        },
        response: { 200: { type: "object", properties: { state: { type: "string", enum: ["void"] } }, required: ["state"] }, "4xx": ERROR },
      },
    },
    async (request) => {
      const { userId } = request.params as { userId: string };
      await bank.withdrawIssue((request.body as { ticket: string }).ticket, userId, actor(request));
      return { state: "void" };
    },
  );

  app.post(
    "/v1/activations",
    {
      config: enroll,
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
            required: ["response", "attemptsLeft"],
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
      config: enroll,
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
          200: {
            type: "object",
            properties: { serial: { type: "string", description: "the token's serial, 16 hex digits" } },
            required: ["serial"],
          },
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
}
