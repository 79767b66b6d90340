// The OpenAPI document (issue 22, item 4): an operationId per route, named component schemas, every
// status a route answers (no "4XX"), 429 and 503 with Retry-After, the scopes, `servers`, examples;
// the statuses the service really answers (no key, a key of the wrong scope, a wrong field) are
// declared; and `redocly lint` (npm run lint) finds no error in the written document.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import { createService } from "../host/bank/service.js";
import type { BankStore } from "../host/bank/store.js";
import { createWebServer } from "../host/web/server.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface Operation {
  operationId?: string;
  summary?: string;
  security?: unknown[];
  "x-scope"?: string;
  requestBody?: unknown;
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: unknown }> }>;
}
interface Document {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { example?: unknown }>; securitySchemes: Record<string, { description?: string }> };
}

let dir: string;
let store: BankStore;
let app: FastifyInstance;
let doc: Document;
const keys = { login: "", admin: "" };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-openapi-"));
  store = await openStore(join(dir, "bank.sqlite"), { create: true });
  const bank = await Bank.open(store, MasterKey.fromBytes(new Uint8Array(32).fill(7)), { outboxDir: join(dir, "outbox") });
  keys.login = (await bank.createApiKey("login", "backend")).key;
  keys.admin = (await bank.createApiKey("admin", "operator")).key;
  app = await createService({ bank, rateLimit: 100_000 });
  doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json() as Document;
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));

describe("the OpenAPI document", () => {
  it("names each operation once, says its scope, and declares the bearer scheme's scopes and the servers", () => {
    const ids = operations().map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain("verifyCode");
    expect(ids).toContain("authenticateCode");
    for (const { path, op } of operations()) {
      if (path === "/v1/health" || path === "/v1/ready") {
        expect(op.security).toEqual([]);
        expect(op["x-scope"]).toBeUndefined();
      } else {
        expect(op.security).toEqual([{ bearer: [] }]);
        expect(["verify", "enroll", "admin"]).toContain(op["x-scope"]);
      }
    }
    expect(doc.paths["/v1/status"].get["x-scope"]).toBe("admin");
    expect(doc.paths["/v1/tokens/{userId}/verify"].post["x-scope"]).toBe("verify");
    expect(doc.paths["/v1/issues"].post["x-scope"]).toBe("enroll");
    expect(doc.components.securitySchemes.bearer.description).toMatch(/verify .*enroll .*admin/);
    expect(doc.servers?.[0].url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("declares every status instead of 4XX, 429 and 503 with Retry-After, errors as a named schema with an example", () => {
    for (const { op } of operations()) {
      expect(Object.keys(op.responses)).not.toContain("4XX");
      for (const status of ["500", "503"]) expect(op.responses[status], status).toBeDefined();
      expect(op.responses["503"].headers?.["Retry-After"]).toBeDefined();
      if (op["x-scope"]) {
        expect(op.responses["401"]).toBeDefined();
        // A key of another scope is refused: every scoped operation may answer 403.
        expect(op.responses["403"]).toBeDefined();
        expect(op.responses["429"].headers?.["Retry-After"]).toBeDefined();
      }
    }
    const verify = doc.paths["/v1/tokens/{userId}/verify"].post.responses;
    expect(Object.keys(verify).sort()).toEqual(["200", "400", "401", "403", "404", "413", "415", "423", "429", "500", "503"]);
    expect(verify["423"].content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    expect(verify["200"].content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/CheckResult" });
    const authenticate = doc.paths["/v1/tokens/{userId}/authenticate"].post.responses;
    expect(Object.keys(authenticate)).toEqual(expect.arrayContaining(["204", "401", "404", "423", "429"]));
    expect(Object.keys(authenticate)).not.toContain("200");
    expect(authenticate["401"].content?.["application/json"].schema).toEqual({ $ref: "#/components/schemas/GatewayRefusal" });
    expect(doc.components.schemas.Error.example).toMatchObject({ error: "locked" });
  });

  it("declares the statuses the service answers: no key, a login key on an admin route, a body of the wrong form", async () => {
    for (const { path, method, op } of operations()) {
      const url = path.replace("{userId}", "2083L0000001A001");
      const ask = async (key?: string, body?: unknown) =>
        (
          await app.inject({
            method: method.toUpperCase() as "GET" | "POST",
            url,
            headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
            payload: body === undefined ? undefined : JSON.stringify(body),
          })
        ).statusCode;
      const declared = (status: number) =>
        expect(Object.keys(op.responses), `${method} ${path} answers ${status}`).toContain(String(status));
      if (op["x-scope"]) {
        expect(await ask(), `${method} ${path} without a key`).toBe(401);
        declared(401);
      }
      if (op["x-scope"] === "admin") {
        expect(await ask(keys.login), `${method} ${path} with a login key`).toBe(403);
        declared(403);
      }
      if (method === "post") declared(await ask(keys.admin, { unknownField: 1 }));
    }
  });

  it("is the source of the page's API types: web/api-types.ts is what npm run openapi generates from it now", () => {
    const types = join(dir, "api-types.ts");
    const written = spawnSync(process.execPath, [join(ROOT, "scripts/openapi.js"), join(dir, "doc.json"), "--types", types], {
      encoding: "utf8",
    });
    expect(written.status, written.stderr).toBe(0);
    expect(readFileSync(types, "utf8"), "web/api-types.ts is stale: run npm run openapi").toBe(
      readFileSync(join(ROOT, "web/api-types.ts"), "utf8"),
    );
    expect(readFileSync(types, "utf8")).toMatch(/Error: \{\n\s+error: string;\n\s+message: string;/);
    // The page's client takes its types from it (test/web-api-types.test.ts: only through them).
    expect(readFileSync(join(ROOT, "web/api.ts"), "utf8")).toMatch(/import type \{ components, paths \} from "\.\/api-types\.js";/);
  }, 120_000);

  it("the simulator's server (whose document the page's types come from) declares the same /v1 routes, and its /web routes' answers", async () => {
    const web = await createWebServer({ bank: {} as Bank, log: () => undefined });
    try {
      await web.ready();
      const pageDoc = web.swagger() as unknown as Document;
      const v1 = Object.fromEntries(Object.entries(pageDoc.paths).filter(([path]) => path.startsWith("/v1/")));
      expect(v1).toEqual(doc.paths);
      expect(Object.keys(pageDoc.paths).filter((path) => !path.startsWith("/v1/"))).toEqual([
        "/web/session",
        "/web/outbox",
        "/web/outbox/{id}",
      ]);
      for (const path of ["/web/session", "/web/outbox", "/web/outbox/{id}"])
        expect(pageDoc.paths[path].get.responses["200"].content?.["application/json"].schema, path).toBeDefined();
    } finally {
      await web.close();
    }
  });

  it("passes redocly lint with no error (npm run lint writes and lints it)", () => {
    const written = spawnSync(process.execPath, [join(ROOT, "scripts/openapi.js"), join(dir, "openapi.json")], { encoding: "utf8" });
    expect(written.status, written.stderr).toBe(0);
    const lint = spawnSync(
      join(ROOT, "node_modules/.bin/redocly"),
      ["lint", "--config", join(ROOT, "redocly.yaml"), join(dir, "openapi.json")],
      {
        encoding: "utf8",
        env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
        timeout: 120_000,
      },
    );
    expect(`${lint.stdout}${lint.stderr}`).toMatch(/Your API description is valid/);
    expect(lint.status).toBe(0);
  }, 180_000);
});
