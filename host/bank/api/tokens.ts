// Code checks (scope verify): POST /v1/tokens/:userId/confirm (認証確認), /verify and /resync. A wrong,
// replayed or voiding code is an answer (200, accepted: false), not an error.
import type { FastifyInstance } from "fastify";
import { BankError, type BankErrorCode } from "../errors.js";
import { actor, verify } from "./auth.js";
import { errorBody } from "./errors.js";
import { bearer, CHECK_RESULT, CODE, ERROR, USER_ID } from "./schemas.js";

/** The outcomes of a code check that are answers, not errors: 200 { accepted: false, reason, ... }. */
const CHECK_OUTCOMES: ReadonlySet<BankErrorCode> = new Set(["wrong-code", "replayed", "issue-void"]);

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

export async function tokenRoutes(app: FastifyInstance): Promise<void> {
  const { bank } = app;

  const checkRoute = (summary: string, body: object) => ({
    config: verify,
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
}
