// The page's calls to the bank: the verification service's /v1 routes (host/bank/service.ts) with the
// login key the simulator's server made for itself (GET /web/session), and, for the administrator's
// screen, an admin key the administrator types (kept in this tab's memory only). JSON in, JSON out;
// refusals as { error, message, messageJa?, attemptsLeft?, retryAfterSeconds? }.

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

interface ErrorBody {
  error?: string;
  reason?: string;
  message?: string;
  messageJa?: string;
  attemptsLeft?: number;
  retryAfterSeconds?: number;
}

let loginKey: Promise<string> | null = null;
let adminKey: string | null = null;

/** The server's login key for this page, asked once. */
function sessionKey(): Promise<string> {
  loginKey ??= fetch("/web/session", { credentials: "same-origin", cache: "no-store" })
    .then((r) => r.json() as Promise<{ loginKey: string }>)
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

async function call<T>(method: "GET" | "POST", path: string, body: unknown, scope: "login" | "admin"): Promise<T> {
  let key: string;
  if (scope === "admin") {
    if (adminKey === null) throw new ApiError("unauthorized", "this needs an administrator's API key (scope admin): enter it first", 401);
    key = adminKey;
  } else {
    key = await sessionKey();
  }
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: "same-origin",
      cache: "no-store",
      headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "Content-Type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("network", "cannot reach the server", 0);
  }
  const parsed = (await response.json().catch(() => ({}))) as ErrorBody;
  if (!response.ok) throw refusal(parsed, response.status);
  return parsed as T;
}

/** A code check's answer; a refusal (accepted: false) is thrown as an ApiError with its reason and attempts left. */
async function check(path: string, body: unknown): Promise<{ offset: number; driftSteps: number }> {
  const result = await call<{ accepted: boolean; offset: number; driftSteps: number } & ErrorBody>("POST", path, body, "login");
  if (!result.accepted) throw refusal(result, 200);
  return result;
}

/** The bank's answer to 送信 (host/bank/bank.ts ActivationAnswer, over the API). */
export interface ActivationAnswer {
  /** Message 2, for the token's 登録. */
  response: Uint8Array;
  /** Attempts left before the issue is void if the token refuses this answer (a wrong 利用開始パスワード). */
  attemptsLeft: number;
}

export interface Issued {
  serviceId: string;
  userId: string;
  mail: string;
  expiresAt: number;
  mailId: string | null;
}

export interface MailSummary {
  id: string;
  to: string;
  subject: string;
  date: string;
}

export interface TokenState {
  token: { serial: string; state: string; locked: boolean; consecutiveFailures: number } | null;
}

/** The mails this tab caused (newest last): a login key may read a mail only by its id. */
const OWN_MAILS = "otp-token.ownMails";

function ownMails(): string[] {
  try {
    return JSON.parse(sessionStorage.getItem(OWN_MAILS) ?? "[]") as string[];
  } catch {
    return [];
  }
}

/** A logged-in customer (POST /v1/logins): its number, its token's User ID, the ticket that names it to トークン発行. */
export interface LoggedIn {
  customerNumber: string;
  userId: string | null;
  ticket: string;
  ticketExpiresAt: number;
}

export const bank = {
  /** ① and ⑧: ログインID, ログインパスワード and, once the customer has a token, its code. */
  login: (loginId: string, password: string, code?: string) =>
    call<LoggedIn>("POST", "/v1/logins", { loginId, password, ...(code ? { code } : {}) }, "login"),
  /** 戻る: the pending issue left behind is void. */
  withdraw: (ticket: string, userId: string) =>
    call<{ state: string }>("POST", `/v1/issues/${encodeURIComponent(userId)}/withdraw`, { ticket }, "login"),
  async issue(input: { mail: string; mailConfirm: string; password: string; passwordConfirm: string; ticket: string }): Promise<Issued> {
    const issued = await call<Issued>("POST", "/v1/issues", input, "login");
    if (issued.mailId) sessionStorage.setItem(OWN_MAILS, JSON.stringify([...ownMails(), issued.mailId].slice(-200)));
    return { ...issued, mailId: issued.mailId ?? null };
  },
  /** 送信: the token's request (message 1) -> the bank's answer (message 2) and the attempts it leaves. */
  async activate(serviceId: string, userId: string, request: Uint8Array): Promise<ActivationAnswer> {
    const answer = await call<{ response: string; attemptsLeft: number }>(
      "POST",
      "/v1/activations",
      { serviceId, userId, request: toBase64(request) },
      "login",
    );
    return { response: fromBase64(answer.response), attemptsLeft: answer.attemptsLeft };
  },
  /** 登録: the token's confirmation (message 3), after it stored the profile. */
  register: (serviceId: string, userId: string, confirmation: Uint8Array) =>
    call<{ serial: string }>("POST", "/v1/registrations", { serviceId, userId, confirmation: toBase64(confirmation) }, "login"),
  confirm: (userId: string, code: string) => check(`/v1/tokens/${encodeURIComponent(userId)}/confirm`, { code }),
  resync: (userId: string, code1: string, code2: string) => check(`/v1/tokens/${encodeURIComponent(userId)}/resync`, { code1, code2 }),
  status: (userId: string) => call<TokenState>("GET", `/v1/tokens/${encodeURIComponent(userId)}`, undefined, "admin"),
  unlock: (userId: string) => call<{ state: string }>("POST", `/v1/tokens/${encodeURIComponent(userId)}/unlock`, {}, "admin"),
  /** One page of the outbox, newest first: every mail with an admin key, else the mails this tab caused. */
  async outbox(page = 0, pageSize = 20): Promise<{ total: number; mails: MailSummary[] }> {
    if (adminKey !== null) return call<{ total: number; mails: MailSummary[] }>("GET", `/web/outbox?page=${page}`, undefined, "admin");
    const ids = ownMails().reverse();
    const mails = await Promise.all(ids.slice(page * pageSize, (page + 1) * pageSize).map((id) => bank.mail(id).catch(() => null)));
    return { total: ids.length, mails: mails.filter((m): m is MailSummary & { text: string } => m !== null) };
  },
  mail: (id: string) => call<MailSummary & { text: string }>("GET", `/web/outbox/${encodeURIComponent(id)}`, undefined, "login"),
  /** The bank's public settings: its Service ID and the domain its mail comes from. */
  async settings(): Promise<{ serviceId?: string; mailDomain?: string }> {
    const response = await fetch("/v1/health", { credentials: "same-origin", cache: "no-store" });
    return (await response.json()) as { serviceId?: string; mailDomain?: string };
  },
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
