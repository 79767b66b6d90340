// The error shape `{ error, message }` (api/schemas.ts ERROR) and the status of each refusal: every
// error a route, a hook or fastify itself raises is answered here.
import type { FastifyError, FastifyReply } from "fastify";
import { BankError, type BankErrorCode } from "../errors.js";
import { StoreBusyError } from "../store.js";

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
  "login-id-form": 400,
  "login-password-form": 400,
  "login-password-mismatch": 400,
  "login-taken": 409,
  "login-failed": 401,
  "login-locked": 423,
  "code-required": 401,
  "login-ticket": 401,
  "master-key": 500,
};

export function errorBody(error: BankError): Record<string, unknown> {
  return {
    error: error.code,
    message: error.message,
    ...(error.ja === undefined ? {} : { messageJa: error.ja }),
    ...(error.attemptsLeft === undefined ? {} : { attemptsLeft: error.attemptsLeft }),
    ...(error.details.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.details.retryAfterSeconds }),
  };
}

export function sendError(
  reply: FastifyReply,
  status: number,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): FastifyReply {
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
