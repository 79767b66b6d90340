// The web server's refusals: every error leaves as `{ error, message }` with one HTTP status per code.
// Bank refusals keep the bank's own code (host/bank/errors.ts); the server adds its own for HTTP-level
// problems (size, content type, method, route, JSON).
import type { BankErrorCode } from "../bank/errors.js";

export type HttpErrorCode =
  | "bad-request" // the body is not the JSON object the endpoint takes
  | "invalid-field" // a field has the wrong form (a Service ID that is not 8 digits, ...)
  | "not-found" // no such page or endpoint
  | "method-not-allowed"
  | "too-large" // request body over the limit
  | "unsupported-media-type" // a POST body that is not application/json
  | "forbidden-origin" // cross-site request or a Host that is not this server
  | "not-built" // the page's bundle is missing: npm run build
  | "internal";

/** RFC 9110 status for each bank refusal: validation 400, guessing 401, locked 403, unknown 404, replay 409, expiry 410. */
export const BANK_ERROR_STATUS: Record<BankErrorCode, number> = {
  "mail-length": 400,
  "mail-characters": 400,
  "mail-format": 400,
  "mail-mismatch": 400,
  "password-length": 400,
  "password-characters": 400,
  "password-mismatch": 400,
  "otp-parameters": 400,
  malformed: 400,
  "invalid-code": 400,
  "wrong-confirmation": 401,
  "wrong-code": 401,
  locked: 403,
  unknown: 404,
  replayed: 409,
  "not-activated": 409,
  expired: 410,
  "master-key": 500,
};

export const HTTP_ERROR_STATUS: Record<HttpErrorCode, number> = {
  "bad-request": 400,
  "invalid-field": 400,
  "not-found": 404,
  "method-not-allowed": 405,
  "too-large": 413,
  "unsupported-media-type": 415,
  "forbidden-origin": 403,
  "not-built": 503,
  internal: 500,
};

/** A refusal raised by the server itself (not by the bank). */
export class HttpError extends Error {
  override name = "HttpError";

  constructor(
    readonly code: HttpErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): number {
    return HTTP_ERROR_STATUS[this.code];
  }
}
