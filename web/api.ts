// The page's calls to the bank: the verification service's /v1 routes (host/bank/service.ts) with the
// login key the simulator's server made for itself (GET /web/session), and, for the administrator's
// screen, an admin key the administrator types (kept in this tab's memory only). JSON in, JSON out;
// refusals as { error, message, messageJa?, attemptsLeft?, retryAfterSeconds? }.
//
// Every call goes through openapi-fetch's client typed by `paths` of web/api-types.ts, which `npm run
// openapi` generates from the OpenAPI document of the server the page talks to (host/web/server.ts:
// the /v1 routes and its own /web routes). A path, a method, a parameter or a body field the document
// does not declare fails the type check (tsc -p web/tsconfig.json, in `npm run typecheck`;
// test/web-api-types.test.ts shows it), and the answers' types are the document's: no request or
// answer type is written by hand here, so the client and the server cannot drift apart unnoticed.
import createClient from "openapi-fetch";
import type { components, paths } from "./api-types.js";

type Schemas = components["schemas"];
/** The JSON answer of `method` on `path` with `status`, as the OpenAPI document declares it. */
type Answer<P extends keyof paths, M extends "get" | "post", S extends number> = paths[P][M] extends {
  responses: { [K in S]: { content: { "application/json": infer B } } };
}
  ? B
  : never;

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    /** Wrong attempts still allowed before the token locks or the issue is void. */
    readonly attemptsLeft?: number,
    /** Seconds before the next check is allowed. */
    readonly retryAfterSeconds?: number,
    /** The bank's own sentence in Japanese. */
    readonly messageJa?: string,
  ) {
    super(message);
  }
}

/** A refusal's body (Error), or a code check's refusal (CheckResult with accepted: false and a reason). */
type ErrorBody = Partial<Schemas["Error"]> & Pick<Schemas["CheckResult"], "reason">;

/** Same origin (relative URLs), never from the HTTP cache. */
const client = createClient<paths>({ credentials: "same-origin", cache: "no-store" });

let loginKey: Promise<string> | null = null;
let adminKey: string | null = null;

function refusal(body: ErrorBody, status: number): ApiError {
  return new ApiError(
    body.error ?? body.reason ?? "internal",
    body.message ?? `HTTP ${status}`,
    status,
    body.attemptsLeft,
    body.retryAfterSeconds,
    body.messageJa,
  );
}

/**
 * openapi-fetch's outcome: the declared answer of a 2xx, or the refusal's body (its JSON, or its text
 * when it is not JSON), thrown as an ApiError; a failed fetch is "network".
 */
async function answer<D>(pending: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  let outcome: { data?: D; error?: unknown; response: Response };
  try {
    outcome = await pending;
  } catch {
    throw new ApiError("network", "cannot reach the server", 0);
  }
  const { data, error, response } = outcome;
  if (!response.ok || data === undefined)
    throw refusal(typeof error === "object" && error !== null ? (error as ErrorBody) : {}, response.status);
  return data;
}

/** The server's login key for this page, asked once. */
function sessionKey(): Promise<string> {
  loginKey ??= answer(client.GET("/web/session"))
    .then((body) => body.loginKey)
    .catch((error: unknown) => {
      loginKey = null;
      throw new ApiError("network", `cannot reach the server: ${(error as Error).message}`, 0);
    });
  return loginKey;
}

/** The administrator's key (scope admin), or null to forget it. */
export function setAdminKey(key: string | null): void {
  adminKey = key === null || key.trim() === "" ? null : key.trim();
}

export function hasAdminKey(): boolean {
  return adminKey !== null;
}

/** The Authorization header of a call with the page's login key or the administrator's key. */
async function bearer(scope: "login" | "admin"): Promise<{ Authorization: string }> {
  if (scope === "login") return { Authorization: `Bearer ${await sessionKey()}` };
  if (adminKey === null) throw new ApiError("unauthorized", "this needs an administrator's API key (scope admin): enter it first", 401);
  return { Authorization: `Bearer ${adminKey}` };
}

/** A code check's answer; a refusal (accepted: false) is thrown as an ApiError with its reason and attempts left. */
function checked(result: Schemas["CheckResult"]): { offset: number; driftSteps: number } {
  if (!result.accepted) throw refusal(result, 200);
  return { offset: result.offset ?? 0, driftSteps: result.driftSteps ?? 0 };
}

/** The bank's answer to 送信 (POST /v1/activations) with message 2 decoded, for the token's 登録. */
export type ActivationAnswer = Omit<Answer<"/v1/activations", "post", 200>, "response"> & { response: Uint8Array };

/** The JSON body `path`'s POST takes, as the OpenAPI document declares it. */
type RequestBody<P extends keyof paths> = paths[P]["post"] extends { requestBody?: { content: { "application/json": infer B } } }
  ? B
  : never;

type IssueAnswer = Answer<"/v1/issues", "post", 201>;

/** POST /v1/issues's answer, its mail's id null when the server gave none. */
export type Issued = Omit<IssueAnswer, "tokenExpiresAt" | "mailId"> & { mailId: string | null };

export type MailSummary = Answer<"/web/outbox", "get", 200>["mails"][number];
export type Mail = Answer<"/web/outbox/{id}", "get", 200>;
export type TokenState = Answer<"/v1/tokens/{userId}", "get", 200>;
/** A logged-in customer (POST /v1/logins): its number, its token's User ID, the ticket that names it to トークン発行. */
export type LoggedIn = Answer<"/v1/logins", "post", 200>;

/** The mails this tab caused (newest last): a login key may read a mail only by its id. */
const OWN_MAILS = "otp-token.ownMails";

function ownMails(): string[] {
  try {
    return JSON.parse(sessionStorage.getItem(OWN_MAILS) ?? "[]") as string[];
  } catch {
    return [];
  }
}

export const bank = {
  /** ① and ⑧: ログインID, ログインパスワード and, once the customer has a token, its code. */
  login: async (loginId: string, password: string, code?: string): Promise<LoggedIn> =>
    answer(client.POST("/v1/logins", { headers: await bearer("login"), body: { loginId, password, ...(code ? { code } : {}) } })),
  /** 戻る: the pending issue left behind is void. */
  withdraw: async (ticket: string, userId: string) =>
    answer(client.POST("/v1/issues/{userId}/withdraw", { headers: await bearer("login"), params: { path: { userId } }, body: { ticket } })),
  async issue(input: { mail: string; mailConfirm: string; password: string; passwordConfirm: string; ticket: string }): Promise<Issued> {
    const issued = await answer(client.POST("/v1/issues", { headers: await bearer("login"), body: input }));
    if (issued.mailId) sessionStorage.setItem(OWN_MAILS, JSON.stringify([...ownMails(), issued.mailId].slice(-200)));
    return {
      serviceId: issued.serviceId,
      userId: issued.userId,
      mail: issued.mail,
      expiresAt: issued.expiresAt,
      mailId: issued.mailId ?? null,
    };
  },
  /** 送信: the token's request (message 1) -> the bank's answer (message 2) and the attempts it leaves. */
  async activate(serviceId: string, userId: string, request: Uint8Array): Promise<ActivationAnswer> {
    const activated = await answer(
      client.POST("/v1/activations", { headers: await bearer("login"), body: { serviceId, userId, request: toBase64(request) } }),
    );
    return { response: fromBase64(activated.response), attemptsLeft: activated.attemptsLeft };
  },
  /** 登録: the token's confirmation (message 3), after it stored the profile. */
  register: async (serviceId: string, userId: string, confirmation: Uint8Array) =>
    answer(
      client.POST("/v1/registrations", {
        headers: await bearer("login"),
        body: { serviceId, userId, confirmation: toBase64(confirmation) },
      }),
    ),
  confirm: async (userId: string, code: string) =>
    checked(
      await answer(
        client.POST("/v1/tokens/{userId}/confirm", { headers: await bearer("login"), params: { path: { userId } }, body: { code } }),
      ),
    ),
  resync: async (userId: string, code1: string, code2: string) =>
    checked(
      await answer(
        client.POST("/v1/tokens/{userId}/resync", { headers: await bearer("login"), params: { path: { userId } }, body: { code1, code2 } }),
      ),
    ),
  status: async (userId: string): Promise<TokenState> =>
    answer(client.GET("/v1/tokens/{userId}", { headers: await bearer("admin"), params: { path: { userId } } })),
  unlock: async (userId: string) =>
    answer(client.POST("/v1/tokens/{userId}/unlock", { headers: await bearer("admin"), params: { path: { userId } }, body: {} })),
  /** One page of the outbox, newest first: every mail with an admin key, else the mails this tab caused. */
  async outbox(page = 0, pageSize = 20): Promise<{ total: number; mails: MailSummary[] }> {
    if (adminKey !== null)
      return answer(client.GET("/web/outbox", { headers: await bearer("admin"), params: { query: { page: String(page) } } }));
    const ids = ownMails().reverse();
    const mails = await Promise.all(ids.slice(page * pageSize, (page + 1) * pageSize).map((id) => bank.mail(id).catch(() => null)));
    return { total: ids.length, mails: mails.filter((m): m is Mail => m !== null) };
  },
  mail: async (id: string): Promise<Mail> =>
    answer(client.GET("/web/outbox/{id}", { headers: await bearer("login"), params: { path: { id } } })),
  /** 振込: the transfer for the token to sign (取引認証); the answer's frame is what the page draws. */
  createTransaction: async (input: RequestBody<"/v1/transactions">) =>
    answer(client.POST("/v1/transactions", { headers: await bearer("login"), body: input })),
  /** The token's transfer code: accepted once; a refusal (accepted: false) is thrown as an ApiError with its reason. */
  async verifyTransaction(transactionId: string, code: string): Promise<{ reference: string }> {
    const result = await answer(
      client.POST("/v1/transactions/{transactionId}/verify", {
        headers: await bearer("login"),
        params: { path: { transactionId } },
        body: { code },
      }),
    );
    if (!result.accepted) throw refusal({ ...result, reason: undefined, error: result.reason }, 200);
    return { reference: result.reference ?? "" };
  },
  /** The bank's public settings (GET /v1/health, no key): its Service ID and the domain its mail comes from. */
  settings: (): Promise<Answer<"/v1/health", "get", 200>> => answer(client.GET("/v1/health")),
};

function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
