// Transaction signing (取引認証, scope verify; docs/transaction-signing.md): POST /v1/transactions keeps
// the backend's transfer and answers the frame the page draws and its expiry; POST
// /v1/transactions/:transactionId/verify checks the token's code for it. A wrong code is an answer
// (200, accepted: false, counted on the token like a wrong login code, with the seconds before the
// next check), as for login codes; a check while throttled is a 429 with Retry-After.
import type { FastifyInstance } from "fastify";
import { BankError, type BankErrorCode } from "../errors.js";
import { actor, verify } from "./auth.js";
import { errorBody } from "./errors.js";
import { bearer, ERROR, USER_ID } from "./schemas.js";

const DIGITS = (count: number, what: string) => ({ type: "string", pattern: `^[0-9]{${count}}$`, description: what }) as const;
const TRANSACTION_ID = { type: "string", pattern: "^[0-9a-f]{32}$", description: "the transfer's id (32 hex digits)" } as const;
/** The refusals of a transfer code that are answers, not errors. */
const CHECK_OUTCOMES: ReadonlySet<BankErrorCode> = new Set(["wrong-code", "replayed", "expired"]);

export async function transactionRoutes(app: FastifyInstance): Promise<void> {
  const { bank } = app;

  app.post(
    "/v1/transactions",
    {
      config: verify,
      schema: {
        summary: "取引認証: a transfer for the customer to sign on the token; answers the frame to draw and its expiry",
        security: bearer,
        body: {
          type: "object",
          additionalProperties: false,
          required: ["userId", "payee", "amount", "reference"],
          properties: {
            userId: USER_ID,
            payee: {
              type: "object",
              additionalProperties: false,
              required: ["bankCode", "branch", "account"],
              properties: {
                bankCode: DIGITS(4, "bank code (金融機関コード)"),
                branch: DIGITS(3, "branch (支店コード)"),
                account: DIGITS(7, "account number (口座番号)"),
                name: { type: "string", maxLength: 30, description: "account name in half-width katakana (口座名義)" },
              },
            },
            amount: { type: "integer", minimum: 1, maximum: 999_999_999_999, description: "yen" },
            reference: { type: "string", minLength: 1, maxLength: 64, description: "the backend's reference for the transfer" },
          },
        },
        response: {
          200: {
            type: "object",
            required: ["transactionId", "frame", "payload", "digest", "expiresAt", "suite"],
            properties: {
              transactionId: TRANSACTION_ID,
              frame: { type: "string", description: "the optical frame, hex (also for manual entry)" },
              payload: { type: "string", description: "the canonical transfer, hex" },
              digest: { type: "string", description: "SHA-256 of the transfer, hex (the audit trail's name for it)" },
              expiresAt: { type: "integer", description: "Unix seconds" },
              suite: { type: "string", description: "the OCRA suite of the code" },
            },
          },
          "4xx": ERROR,
        },
      },
    },
    async (request) => {
      const body = request.body as Parameters<typeof bank.createTransaction>[0];
      try {
        return await bank.createTransaction(body, actor(request));
      } catch (error) {
        // The payee's name and the like are checked by the transfer's encoder: a 400 that says what is accepted.
        if (error instanceof RangeError || error instanceof TypeError) throw Object.assign(new Error(error.message), { statusCode: 400 });
        throw error;
      }
    },
  );

  app.post(
    "/v1/transactions/:transactionId/verify",
    {
      config: verify,
      schema: {
        summary: "the token's code for a transfer: accepted once, before its expiry",
        security: bearer,
        params: { type: "object", properties: { transactionId: TRANSACTION_ID }, required: ["transactionId"] },
        body: { type: "object", additionalProperties: false, required: ["code"], properties: { code: { type: "string", maxLength: 16 } } },
        response: {
          200: {
            type: "object",
            required: ["accepted"],
            properties: {
              accepted: { type: "boolean" },
              digest: { type: "string" },
              reference: { type: "string" },
              reason: { type: "string" },
              message: { type: "string" },
              messageJa: { type: "string" },
              attemptsLeft: { type: "integer" },
              retryAfterSeconds: { type: "integer", description: "after a wrong code: seconds before the token's next check" },
            },
          },
          "4xx": ERROR,
        },
      },
    },
    async (request) => {
      const { transactionId } = request.params as { transactionId: string };
      try {
        const result = await bank.verifyTransaction(transactionId, (request.body as { code: string }).code, actor(request));
        return { accepted: true, digest: result.digest, reference: result.reference };
      } catch (error) {
        if (error instanceof BankError && CHECK_OUTCOMES.has(error.code)) {
          const { error: reason, ...rest } = errorBody(error);
          return { accepted: false, reason, ...rest };
        }
        throw error;
      }
    },
  );
}
