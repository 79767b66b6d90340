// The browser simulator's web server: the page (dist/web/) with the real firmware (build/token.wasm)
// and the bank's verification service (host/bank/service.ts, the same /v1 routes `otp-token bank
// serve` offers), on fastify, on 127.0.0.1 only. The page's bank screens call the API with a login
// key this server makes for itself at start-up (held in memory only, handed to the page by
// /web/session); the administrator page asks for an admin key. Nothing served lists customers
// without a key: the outbox lists its mails to an admin key only, and a login key reads one mail
// by its unguessable id. Secrets (activation passwords, codes) arrive only in POST bodies; log lines
// carry method, path (never the query), status and time, never a body.
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import type { Bank } from "../bank/bank.js";
import { listOutbox, readOutboxMail } from "../bank/mail.js";
import { ERROR } from "../bank/api/schemas.js";
import { FASTIFY_OPTIONS, handleError, MAX_BODY_BYTES, registerBankApi } from "../bank/service.js";
import { buildDir } from "../wasm.js";

import { DEFAULT_PORT, LISTEN_HOST } from "./defaults.js";

export { DEFAULT_PORT, LISTEN_HOST, MAX_BODY_BYTES };
/** Mails per outbox page. */
export const OUTBOX_PAGE_SIZE = 20;

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
  /** The bank's outbox folder (set-up mails). */
  outboxDir?: string;
  /** Where index.html, app.js and style.css are; default dist/web/ of this package. */
  staticDir?: string;
  /** Where token.wasm is; default build/. */
  wasmDir?: string;
  /** One line per request (no bodies, no queries); default standard error. */
  log?: (line: string) => void;
  /** The page's login key; default a fresh random one. */
  loginKey?: string;
}

/** A mail of the outbox as the page lists it (host/bank/mail.ts MailSummary). */
const MAIL_SUMMARY = {
  type: "object",
  properties: { id: { type: "string" }, to: { type: "string" }, subject: { type: "string" }, date: { type: "string" } },
  required: ["id", "to", "subject", "date"],
} as const;

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

function refuse(reply: FastifyReply, status: number, error: string, message: string, headers: Record<string, string> = {}): FastifyReply {
  return reply.code(status).headers(headers).type("application/json; charset=utf-8").send({ error, message });
}

/** A fastify app serving the page and the bank's API (not listening yet: see listen). */
export async function createWebServer(options: WebServerOptions): Promise<FastifyInstance> {
  const { bank } = options;
  const staticDir = options.staticDir ?? defaultStaticDir();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const loginKey = options.loginKey ?? `otpw_${randomBytes(32).toString("base64url")}`;
  let wasmDir = options.wasmDir;

  const app = Fastify(FASTIFY_OPTIONS);
  app.setErrorHandler((error, _request, reply) => handleError(error as Error, reply));
  app.setNotFoundHandler((request, reply) => refuse(reply, 404, "not-found", `nothing at ${request.url.split("?")[0]}`));

  // First of all: only our own loopback names (DNS rebinding), and no other site's POST (CSRF).
  app.addHook("onRequest", async (request, reply) => {
    const port = (app.server.address() as AddressInfo | null)?.port;
    const host = request.headers.host ?? "";
    if (host !== `${LISTEN_HOST}:${port}` && host !== `localhost:${port}`) {
      return refuse(reply, 403, "forbidden-origin", `this server answers only at http://${LISTEN_HOST}:${port}/`);
    }
    const origin = request.headers.origin;
    if (request.method !== "GET" && request.method !== "HEAD" && origin !== undefined && origin !== `http://${host}`) {
      return refuse(reply, 403, "forbidden-origin", "requests from other sites are refused");
    }
  });
  app.addHook("onSend", async (request, reply, payload) => {
    reply.headers(SECURITY_HEADERS);
    if (!reply.hasHeader("Cache-Control"))
      reply.header("Cache-Control", Object.hasOwn(STATIC_FILES, request.url.split("?")[0]) ? "no-cache" : "no-store");
    return payload;
  });
  app.addHook("onResponse", async (request, reply) => {
    log(
      `${new Date().toISOString()} ${request.method} ${request.url.split("?")[0]} ${reply.statusCode} ${reply.getHeader("Content-Length") ?? 0}B ${reply.elapsedTime.toFixed(1)}ms`,
    );
  });

  await registerBankApi(app, { bank, memoryKeys: [{ key: loginKey, scope: "login", actor: "web" }], includeMailId: true });

  for (const [path, entry] of Object.entries(STATIC_FILES)) {
    app.get(path, { schema: { hide: true } }, async (_request, reply) => {
      let dir = staticDir;
      if (entry.from === "wasm") {
        try {
          dir = wasmDir ??= buildDir();
        } catch {
          return refuse(reply, 503, "not-built", "build/token.wasm is missing: run npm run build");
        }
      }
      const file = join(dir, entry.file);
      if (!existsSync(file)) return refuse(reply, 503, "not-built", `${entry.file} is missing: run npm run build`);
      return reply.type(entry.type).send(readFileSync(file));
    });
  }

  // The page's own key: same-origin only (the Host check above; no CORS headers are ever sent). These
  // routes' answers are declared so that the page's client (web/api.ts) is typed from this server's
  // OpenAPI document like the /v1 routes (`npm run openapi` writes web/api-types.ts from it).
  app.get(
    "/web/session",
    {
      schema: {
        summary: "the page's login key (this server's own, same origin only)",
        response: { 200: { type: "object", properties: { loginKey: { type: "string" } }, required: ["loginKey"] } },
      },
    },
    async () => ({ loginKey }),
  );

  app.get(
    "/web/outbox",
    {
      config: { scope: "admin" },
      schema: {
        summary: "one page of the outbox, newest first (the simulator's customers' mailbox)",
        querystring: { type: "object", additionalProperties: false, properties: { page: { type: "string", pattern: "^[0-9]{1,6}$" } } },
        response: {
          200: {
            type: "object",
            properties: {
              total: { type: "integer" },
              page: { type: "integer" },
              pageSize: { type: "integer" },
              mails: { type: "array", items: MAIL_SUMMARY },
            },
            required: ["total", "page", "pageSize", "mails"],
          },
          "4xx": ERROR,
        },
      },
    },
    async (request) => listOutbox(options.outboxDir, Number((request.query as { page?: string }).page ?? 0), OUTBOX_PAGE_SIZE),
  );

  app.get(
    "/web/outbox/:id",
    {
      config: { scope: "login" },
      schema: {
        summary: "one mail by its id (the issue's answer gives it)",
        params: { type: "object", properties: { id: { type: "string", maxLength: 64 } } },
        response: {
          200: {
            ...MAIL_SUMMARY,
            properties: { ...MAIL_SUMMARY.properties, text: { type: "string" } },
            required: [...MAIL_SUMMARY.required, "text"],
          },
          "4xx": ERROR,
        },
      },
    },
    async (request, reply) => {
      const mail = readOutboxMail(options.outboxDir, (request.params as { id: string }).id);
      return mail ?? refuse(reply, 404, "not-found", "no such mail in the outbox");
    },
  );

  return app;
}

/** Listens on 127.0.0.1:`port` (0 = any free port) and resolves with the URL. */
export async function listen(app: FastifyInstance, port: number): Promise<string> {
  await app.listen({ port, host: LISTEN_HOST });
  return `http://${LISTEN_HOST}:${(app.server.address() as AddressInfo).port}/`;
}
