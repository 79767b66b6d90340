// The gateway's login check (RADIUS through FreeRADIUS's rlm_rest, contrib/freeradius/, or any
// gateway that only looks at the status): POST /v1/tokens/:userId/authenticate. Unlike /verify, a
// refusal is never 2xx: 204 accepts, 401 a wrong or replayed code, 404 an unknown User ID, 423 a
// locked, suspended, revoked or expired token, 429 a throttled one (Retry-After), 400 a code of the
// wrong form, 503 a busy store. A proxy that maps "any 2xx" to "accept" cannot accept a wrong code.
// The reason is in `X-OTP-Reason` and the body; the customer's sentence (`replyMessage`, English or
// Japanese by Accept-Language) is what a gateway shows (RADIUS Reply-Message); with
// `X-OTP-Gateway: freeradius-rest` the body also carries them as rlm_rest reads attributes.
//
// Resynchronisation in two requests (a RADIUS Access-Challenge): a wrong code that is one of the
// token's codes in the wider resync window answers 401 with `resyncState`, an opaque sealed note
// (AES-256-GCM: the User ID, that code and a 5-minute expiry) the gateway hands back with the next
// code (RADIUS State); the two then go to Bank.resync. The first code is counted as a wrong code all
// the same, so a guesser gains nothing but a hint that a guess was a code of the last or next 10
// minutes, which is useless without the code after it.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { BankError } from "../errors.js";
import { actor, verify } from "./auth.js";
import { errorBody } from "./errors.js";
import { bearer, CODE, ERROR, USER_ID } from "./schemas.js";

/** Seconds a resync state may be handed back. */
export const RESYNC_STATE_SECONDS = 300;
const STATE_PATTERN = /^0x[0-9a-f]{2,400}$/i;
const STATE_AAD = Buffer.from("otp-token gateway resync state v1", "utf8");

/** The status of each refusal of a login code at the gateway route. */
export const GATEWAY_STATUS: Partial<Record<string, number>> = {
  "wrong-code": 401,
  replayed: 401,
  "resync-state": 401,
  unknown: 404,
  locked: 423,
  suspended: 423,
  revoked: 423,
  "token-expired": 423,
  throttled: 429,
  "invalid-code": 400,
};

const RESYNC_PROMPT = {
  en: "the token's clock may have drifted: wait for the next code and enter it",
  ja: "トークンの時刻がずれている可能性があります。次のワンタイムパスワードが表示されたら入力してください。",
};
const RESYNC_STATE_REFUSED = {
  message: "the resynchronisation has expired or does not belong to this User ID: log in again",
  ja: "時刻合わせの有効期限が切れました。もう一度ログインしてください。",
};

/** An attribute as rlm_rest's JSON decoder reads it. */
const RLM_REST_ATTRIBUTE = {
  type: "object",
  properties: { value: { type: "string" }, do_xlat: { type: "boolean" }, op: { type: "string" } },
} as const;

export const GATEWAY_REFUSAL = {
  title: "GatewayRefusal",
  type: "object",
  properties: {
    ...ERROR.properties,
    replyMessage: { type: "string", description: "the customer's sentence in the language of Accept-Language (en or ja)" },
    resyncState: {
      type: "string",
      pattern: STATE_PATTERN.source,
      description: "a wrong code that may be a drifted token's: send it back with the next code (RADIUS State)",
    },
    "reply:Reply-Message": { ...RLM_REST_ATTRIBUTE, description: "with X-OTP-Gateway: freeradius-rest, replyMessage for rlm_rest" },
    "reply:State": { ...RLM_REST_ATTRIBUTE, description: "with X-OTP-Gateway: freeradius-rest, resyncState for rlm_rest" },
  },
  required: ["error", "message"],
} as const;

/** Seals and opens the resync note; `key` 32 bytes (bank serve derives it from the master key). */
export class ResyncStates {
  readonly #key: Buffer;

  constructor(
    key: Uint8Array = randomBytes(32),
    private readonly now: () => number = () => Date.now() / 1000,
  ) {
    this.#key = Buffer.from(key);
  }

  seal(userId: string, code: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv).setAAD(STATE_AAD);
    const plain = Buffer.from(JSON.stringify({ u: userId, c: code, e: Math.floor(this.now()) + RESYNC_STATE_SECONDS }), "utf8");
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return `0x${sealed.toString("hex")}`;
  }

  /** The first code, if `state` is a live note sealed here for `userId`. */
  open(state: string, userId: string): string | null {
    if (!STATE_PATTERN.test(state)) return null;
    const bytes = Buffer.from(state.slice(2), "hex");
    if (bytes.length < 12 + 16 + 2) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", this.#key, bytes.subarray(0, 12)).setAAD(STATE_AAD);
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      const plain = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
      const note = JSON.parse(plain.toString("utf8")) as { u: string; c: string; e: number };
      return note.u === userId && note.e >= this.now() ? note.c : null;
    } catch {
      return null;
    }
  }
}

const japanese = (request: FastifyRequest) => /^\s*ja\b/i.test(request.headers["accept-language"] ?? "");

function refuse(
  request: FastifyRequest,
  reply: FastifyReply,
  error: BankError | { code: string; message: string; ja: string },
  extra: { resyncState?: string } = {},
): FastifyReply {
  const status = GATEWAY_STATUS[error.code] ?? 401;
  const body: Record<string, unknown> =
    error instanceof BankError ? errorBody(error) : { error: error.code, message: error.message, messageJa: error.ja };
  const ja = japanese(request);
  const sentence = (ja ? (body.messageJa as string | undefined) : undefined) ?? (body.message as string);
  const replyMessage = extra.resyncState ? `${sentence} ${ja ? RESYNC_PROMPT.ja : RESYNC_PROMPT.en}` : sentence;
  const headers: Record<string, string> = { "X-OTP-Reason": error.code };
  if (typeof body.attemptsLeft === "number") headers["X-OTP-Attempts-Left"] = String(body.attemptsLeft);
  if (status === 429 && typeof body.retryAfterSeconds === "number") headers["Retry-After"] = String(body.retryAfterSeconds);
  if (extra.resyncState) headers["X-OTP-Resync-State"] = extra.resyncState;
  if (status === 401) headers["WWW-Authenticate"] = 'OTP realm="otp-token bank"';
  // FreeRADIUS's rlm_rest decodes a 401's body as attributes (and skips the other keys): the reply's
  // Reply-Message and, for a drifted token's code, the State the challenge carries. Taken literally (no xlat).
  const radius =
    request.headers["x-otp-gateway"] === "freeradius-rest"
      ? {
          "reply:Reply-Message": { value: replyMessage, do_xlat: false, op: ":=" },
          ...(extra.resyncState ? { "reply:State": { value: extra.resyncState, do_xlat: false, op: ":=" } } : {}),
        }
      : {};
  return reply
    .code(status)
    .headers(headers)
    .type("application/json; charset=utf-8")
    .send({ ...body, replyMessage, ...extra, ...radius });
}

export async function gatewayRoutes(app: FastifyInstance, options: { resyncKey?: Uint8Array }): Promise<void> {
  const { bank } = app;
  const states = new ResyncStates(options.resyncKey);
  const refusal = { ...GATEWAY_REFUSAL, description: "refused: the reason in X-OTP-Reason and `error`" };

  app.post(
    "/v1/tokens/:userId/authenticate",
    {
      config: verify,
      schema: {
        summary: "a login code for a gateway (RADIUS): 204 accepts, every refusal is 4xx or 5xx",
        description:
          "For gateways that map any 2xx to acceptance (FreeRADIUS rlm_rest, contrib/freeradius/). With `resyncState` (from a 401 of a drifted token's code), `code` is the next code and the two resynchronise the token.",
        security: bearer,
        params: { type: "object", properties: { userId: USER_ID }, required: ["userId"] },
        body: {
          type: "object",
          additionalProperties: false,
          required: ["code"],
          properties: { code: CODE, resyncState: { type: "string", maxLength: 512 } },
        },
        response: { 204: { description: "accepted", type: "null" }, "4xx": refusal, 503: ERROR },
      },
    },
    async (request, reply) => {
      const { userId } = request.params as { userId: string };
      const { code, resyncState } = request.body as { code: string; resyncState?: string };
      const by = actor(request);
      try {
        if (resyncState !== undefined && resyncState !== "") {
          const first = states.open(resyncState, userId);
          if (first === null) return refuse(request, reply, { code: "resync-state", ...RESYNC_STATE_REFUSED });
          await bank.resync(userId, first, code, by);
        } else {
          await bank.verify(userId, code, by);
        }
      } catch (error) {
        if (!(error instanceof BankError) || GATEWAY_STATUS[error.code] === undefined) throw error;
        const drifted = error.code === "wrong-code" && error.details.inResyncWindow === true && !resyncState;
        return refuse(request, reply, error, drifted ? { resyncState: states.seal(userId, code) } : {});
      }
      return reply.code(204).header("X-OTP-Reason", "accepted").send();
    },
  );
}
