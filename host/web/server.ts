// The browser simulator's web server (issue 5): node:http on 127.0.0.1 only, JSON endpoints for each
// bank action over the Bank and its SQLite file, and the page (dist/web/) with the real firmware
// (build/token.wasm). Secrets (activation passwords, codes) arrive only in POST bodies; log lines
// carry method, path (never the query), status, size and time, never a body.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Bank } from "../bank/bank.js";
import { BankError } from "../bank/errors.js";
import { SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../bank/protocol.js";
import { buildDir } from "../wasm.js";
import { BANK_ERROR_STATUS, HttpError } from "./http-errors.js";

/** Request bodies larger than this are refused with 413 (the largest real one, an activation request in hex, is ~260 bytes). */
export const MAX_BODY_BYTES = 4096; // bytes
export const DEFAULT_PORT = 8787;
export const LISTEN_HOST = "127.0.0.1";

/**
 * The page's policy: everything from this server only. 'wasm-unsafe-eval' lets the page compile
 * token.wasm (CSP Level 3); no inline script or style is allowed.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy": CONTENT_SECURITY_POLICY,
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

export interface WebServerOptions {
  bank: Bank;
  /** The bank's outbox folder (set-up mails), listed by /api/outbox. */
  outboxDir?: string;
  /** Where index.html, app.js and style.css are; default dist/web/ of this package. */
  staticDir?: string;
  /** Where token.wasm is; default build/. */
  wasmDir?: string;
  /** One line per request (no bodies, no queries); default standard error. */
  log?: (line: string) => void;
  maxBodyBytes?: number;
}

/** The page's files: URL path -> file name and type. */
const STATIC_FILES: Record<string, { file: string; type: string; from: "static" | "wasm" }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8", from: "static" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8", from: "static" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8", from: "static" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8", from: "static" },
  "/favicon.svg": { file: "favicon.svg", type: "image/svg+xml", from: "static" },
  "/token.wasm": { file: "token.wasm", type: "application/wasm", from: "wasm" },
};

/** dist/web/: two levels up from host/web/ (source, tests) or the sibling of dist/host/ (built). */
export function defaultStaticDir(): string {
  const candidates = ["../../dist/web/", "../../web/"].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, "app.js"))) ?? candidates[0];
}

type Json = Record<string, unknown>;
type Handler = (request: ApiRequest) => { status?: number; body: Json };

interface ApiRequest {
  body: Json;
  query: URLSearchParams;
  params: string[];
}

interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
}

/** Outbox file names the bank writes: `<unix seconds>-<Service ID>.eml`. Nothing else is ever opened. */
const OUTBOX_NAME = /^[0-9]{1,12}-[0-9]{8}\.eml$/;

export function createWebServer(options: WebServerOptions): Server {
  const { bank } = options;
  const staticDir = options.staticDir ?? defaultStaticDir();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const maxBody = options.maxBodyBytes ?? MAX_BODY_BYTES;
  let wasmDir = options.wasmDir;

  const routes: Route[] = [
    {
      pattern: /^\/api\/issue$/,
      methods: {
        POST: ({ body }) => {
          const input = fields(body, { mail: 200, mailConfirm: 200, password: 100, passwordConfirm: 100 });
          const issued = bank.issue({ mail: input.mail, mailConfirm: input.mailConfirm, password: input.password, passwordConfirm: input.passwordConfirm });
          const mailId = issued.mailFile?.split(/[\\/]/).pop() ?? null;
          return { status: 201, body: { serviceId: issued.serviceId, userId: issued.userId, mail: issued.mail, setupUrl: issued.setupUrl, expiresAt: issued.expiresAt, mailId } };
        },
      },
    },
    {
      pattern: /^\/api\/activate$/,
      methods: {
        POST: ({ body }) => {
          const { request } = fields(body, { request: 1024 });
          const response = bank.activate(decodeBytes(request));
          const bytes = Buffer.from(response);
          return { body: { response: bytes.toString("hex"), responseBase64: bytes.toString("base64") } };
        },
      },
    },
    {
      // "Register" on the token: its confirmation (docs/activation.md message 3) after it stored the profile.
      pattern: /^\/api\/register$/,
      methods: {
        POST: ({ body }) => {
          const { confirmation } = fields(body, { confirmation: 1024 });
          const { serial } = bank.register(decodeBytes(confirmation));
          return { body: { ok: true, serial } };
        },
      },
    },
    {
      pattern: /^\/api\/confirm$/,
      methods: {
        POST: ({ body }) => {
          const input = fields(body, { serviceId: 8, userId: 16, code: 8 });
          checkIds(input.serviceId, input.userId);
          const result = bank.confirm(input.serviceId, input.userId, input.code);
          return { body: { ok: true, driftSteps: result.driftSteps } };
        },
      },
    },
    {
      // The login of internet banking: the User ID and the code the token shows now.
      pattern: /^\/api\/(login|verify)$/,
      methods: {
        POST: ({ body }) => {
          const input = fields(body, { userId: 16, code: 8 }, { serviceId: 8 });
          const serviceId = resolveServiceId(bank, input.userId, input.serviceId);
          const result = bank.verify(serviceId, input.userId, input.code);
          return { body: { ok: true, serviceId, userId: input.userId, offset: result.offset, driftSteps: result.driftSteps } };
        },
      },
    },
    {
      pattern: /^\/api\/resync$/,
      methods: {
        POST: ({ body }) => {
          const input = fields(body, { userId: 16, code1: 8, code2: 8 }, { serviceId: 8 });
          const serviceId = resolveServiceId(bank, input.userId, input.serviceId);
          const result = bank.resync(serviceId, input.userId, input.code1, input.code2);
          return { body: { ok: true, driftSteps: result.driftSteps } };
        },
      },
    },
    {
      pattern: /^\/api\/admin\/unlock$/,
      methods: {
        POST: ({ body }) => {
          const input = fields(body, { userId: 16 }, { serviceId: 8 });
          const serviceId = resolveServiceId(bank, input.userId, input.serviceId);
          bank.unlock(serviceId, input.userId, "administrator (web)");
          return { body: { ok: true, serviceId, userId: input.userId } };
        },
      },
    },
    {
      // Identifiers only in the query: they are printed on the screen and in the mail, not secrets.
      pattern: /^\/api\/status$/,
      methods: {
        GET: ({ query }) => {
          const userId = query.get("userId") ?? "";
          const given = query.get("serviceId") ?? undefined;
          if (!USER_ID_PATTERN.test(userId)) throw new HttpError("invalid-field", "userId must be 16 upper-case letters or digits");
          const serviceId = resolveServiceId(bank, userId, given);
          const status = bank.status(serviceId, userId);
          return { body: status as unknown as Json };
        },
      },
    },
    {
      pattern: /^\/api\/outbox$/,
      methods: { GET: () => ({ body: { messages: listOutbox(options.outboxDir) } }) },
    },
    {
      pattern: /^\/api\/outbox\/([^/]+)$/,
      methods: {
        GET: ({ params }) => {
          const id = params[0];
          if (!OUTBOX_NAME.test(id) || options.outboxDir === undefined || !existsSync(join(options.outboxDir, id))) {
            throw new HttpError("not-found", "no such mail in the outbox");
          }
          const text = readFileSync(join(options.outboxDir, id), "utf8");
          return { body: { ...mailSummary(id, text), text } };
        },
      },
    },
  ];

  const server = createServer((req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? "/").split("?")[0];
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log(`${new Date().toISOString()} ${req.method} ${path} ${res.statusCode} ${res.getHeader("Content-Length") ?? 0}B ${ms.toFixed(1)}ms`);
    });
    handle(req, res).catch((error: unknown) => sendError(res, error));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const port = (server.address() as AddressInfo | null)?.port;
    const host = req.headers.host ?? "";
    // DNS rebinding: only our own loopback names reach the bank.
    if (host !== `${LISTEN_HOST}:${port}` && host !== `localhost:${port}`) {
      throw new HttpError("forbidden-origin", `this server answers only at http://${LISTEN_HOST}:${port}/`);
    }
    const url = new URL(req.url ?? "/", `http://${host}`);
    const method = req.method ?? "GET";
    const isStatic = Object.hasOwn(STATIC_FILES, url.pathname);
    if (isStatic) {
      if (method !== "GET" && method !== "HEAD") throw new HttpError("method-not-allowed", `${url.pathname} takes GET`, { Allow: "GET, HEAD" });
      return sendStatic(res, method, STATIC_FILES[url.pathname]);
    }
    for (const route of routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      const handler = Object.hasOwn(route.methods, method) ? route.methods[method] : undefined;
      const allowed = Object.keys(route.methods).join(", ");
      if (!handler) throw new HttpError("method-not-allowed", `${url.pathname} takes ${allowed}`, { Allow: allowed });
      let body: Json = {};
      if (method === "POST") {
        // A cross-site page may post to a loopback server (CSRF): refuse any Origin but ours.
        const origin = req.headers.origin;
        if (origin !== undefined && origin !== `http://${host}`) throw new HttpError("forbidden-origin", "requests from other sites are refused");
        body = await readJsonBody(req, maxBody);
      }
      const result = handler({ body, query: url.searchParams, params: match.slice(1) });
      return sendJson(res, result.status ?? 200, result.body);
    }
    throw new HttpError("not-found", `nothing at ${url.pathname}`);
  }

  function sendStatic(res: ServerResponse, method: string, entry: (typeof STATIC_FILES)[string]): void {
    let dir = staticDir;
    if (entry.from === "wasm") {
      try {
        dir = wasmDir ??= buildDir();
      } catch {
        throw new HttpError("not-built", "build/token.wasm is missing: run npm run build");
      }
    }
    const file = join(dir, entry.file);
    if (!existsSync(file)) throw new HttpError("not-built", `${entry.file} is missing: run npm run build`);
    const content = readFileSync(file);
    writeHead(res, 200, { ...SECURITY_HEADERS, "Content-Type": entry.type, "Content-Length": content.length, "Cache-Control": "no-cache" });
    res.end(method === "HEAD" ? undefined : content);
  }

  return server;
}

function sendJson(res: ServerResponse, status: number, body: Json, headers: Record<string, string> = {}): void {
  const text = Buffer.from(JSON.stringify(body), "utf8");
  writeHead(res, status, { ...SECURITY_HEADERS, ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": text.length, "Cache-Control": "no-store" });
  res.end(text);
}

/** Headers set one by one, so the request log can read Content-Length back. */
function writeHead(res: ServerResponse, status: number, headers: Record<string, string | number>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.writeHead(status);
}

function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof BankError) return sendJson(res, BANK_ERROR_STATUS[error.code] ?? 500, { error: error.code, message: error.message });
  if (error instanceof HttpError) {
    // After an oversized or unread body the connection is not reused.
    const headers = error.code === "too-large" ? { ...error.headers, Connection: "close" } : error.headers;
    return sendJson(res, error.status, { error: error.code, message: error.message }, headers);
  }
  // No detail of an unexpected failure goes to the client (it could hold anything).
  process.stderr.write(`otp-token serve: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  sendJson(res, 500, { error: "internal", message: "the server failed; see its log" });
}

/** The body as a JSON object: application/json, at most `limit` bytes. */
function readJsonBody(req: IncomingMessage, limit: number): Promise<Json> {
  const type = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  if (type !== "application/json") {
    req.resume();
    return Promise.reject(new HttpError("unsupported-media-type", "the body must be JSON sent as Content-Type: application/json"));
  }
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limit) return Promise.reject(new HttpError("too-large", `the body must be at most ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on("data", (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > limit) {
        refused = true;
        reject(new HttpError("too-large", `the body must be at most ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", reject);
    req.on("end", () => {
      if (refused) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return reject(new HttpError("bad-request", "the body is not valid JSON"));
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return reject(new HttpError("bad-request", "the body must be a JSON object"));
      resolve(parsed as Json);
    });
  });
}

/**
 * The named string fields of `body` (each at most its length), optional ones if present; any other
 * field is refused, so a typo is not silently ignored.
 */
function fields<R extends string, O extends string>(
  body: Json,
  required: Record<R, number>,
  optional: Record<O, number> = {} as Record<O, number>,
): Record<R, string> & Partial<Record<O, string>> {
  const out: Record<string, string> = {};
  const spec: Record<string, number> = { ...required, ...optional };
  for (const name of Object.keys(body)) {
    if (!Object.hasOwn(spec, name)) throw new HttpError("bad-request", `unexpected field ${JSON.stringify(name)}: this endpoint takes ${Object.keys(spec).join(", ")}`);
  }
  for (const [name, max] of Object.entries(spec)) {
    const value = body[name];
    if (value === undefined && !Object.hasOwn(required, name)) continue;
    if (typeof value !== "string") throw new HttpError("bad-request", `${name} is missing or not a string`);
    if (value.length > max) throw new HttpError("invalid-field", `${name} is longer than ${max} characters`);
    out[name] = value;
  }
  return out as Record<R, string> & Partial<Record<O, string>>;
}

function checkIds(serviceId: string, userId: string): void {
  if (!SERVICE_ID_PATTERN.test(serviceId)) throw new HttpError("invalid-field", "serviceId must be 8 digits");
  if (!USER_ID_PATTERN.test(userId)) throw new HttpError("invalid-field", "userId must be 16 upper-case letters or digits");
}

/** The Service ID given, or else the one of the customer's active token (the login asks for the User ID only). */
function resolveServiceId(bank: Bank, userId: string, serviceId: string | undefined): string {
  if (!USER_ID_PATTERN.test(userId)) throw new HttpError("invalid-field", "userId must be 16 upper-case letters or digits");
  if (serviceId !== undefined) {
    checkIds(serviceId, userId);
    return serviceId;
  }
  const token = bank.store.getToken(userId);
  if (!token) throw new BankError("unknown", "no active token has this User ID: check it, or set a token up first");
  return token.service_id;
}

/** An activation message as hex or base64; its length is the bank's to judge. */
function decodeBytes(text: string): Uint8Array {
  const compact = text.replace(/\s+/g, "");
  if (/^([0-9a-fA-F]{2})+$/.test(compact)) return new Uint8Array(Buffer.from(compact, "hex"));
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(compact) && compact.length % 4 === 0) return new Uint8Array(Buffer.from(compact, "base64"));
  throw new BankError("malformed", "malformed activation request: give it as hex (226 digits) or base64");
}

interface MailSummary {
  id: string;
  to: string;
  subject: string;
  date: string;
}

function mailSummary(id: string, text: string): MailSummary {
  const head = text.split("\r\n\r\n")[0];
  const header = (name: string) => new RegExp(`^${name}: (.*)$`, "mi").exec(head)?.[1]?.trim() ?? "";
  return { id, to: header("To").replace(/^<|>$/g, ""), subject: header("Subject"), date: header("Date") };
}

/** The outbox's mails, newest first. */
function listOutbox(dir: string | undefined): MailSummary[] {
  if (dir === undefined || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => OUTBOX_NAME.test(name))
    .sort((a, b) => Number(b.split("-")[0]) - Number(a.split("-")[0]) || b.localeCompare(a))
    .map((name) => mailSummary(name, readFileSync(join(dir, name), "utf8")));
}

/** Listens on 127.0.0.1:`port` (0 = any free port) and resolves with the URL. */
export function listen(server: Server, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, LISTEN_HOST, () => {
      server.off("error", reject);
      resolve(`http://${LISTEN_HOST}:${(server.address() as AddressInfo).port}/`);
    });
  });
}
