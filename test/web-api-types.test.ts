// The page's API client cannot drift from the server (issue 22, item 2): web/api.ts calls only through
// openapi-fetch typed by web/api-types.ts, which `npm run openapi` generates from the OpenAPI document
// (test/openapi.test.ts checks it is fresh). Here a copy of the client is type-checked as the page's
// tsconfig does (web/tsconfig.json): as it is, it compiles; with one call changed to disagree with the
// document (a wrong path, method, parameter or body field), or with the document changed under it (an
// answer's or a body's field renamed), it does not, and the error is in web/api.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnAsync } from "./helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSC = join(ROOT, "node_modules/typescript/bin/tsc");
let dir: string;

/** The client and its types in a folder of their own (under the repository, so node_modules resolves), one file changed. */
async function typecheck(change?: {
  file: "api.ts" | "api-types.ts";
  from: string;
  to: string;
}): Promise<{ status: number | null; out: string }> {
  const copy = mkdtempSync(join(dir, "copy-"));
  for (const file of ["api.ts", "api-types.ts"]) {
    let text = readFileSync(join(ROOT, "web", file), "utf8");
    if (change?.file === file) {
      expect(text.split(change.from).length - 1, `${change.from} once in web/${file}`).toBe(1);
      text = text.replace(change.from, change.to);
    }
    writeFileSync(join(copy, file), text);
  }
  writeFileSync(join(copy, "tsconfig.json"), JSON.stringify({ extends: join(ROOT, "web/tsconfig.json"), include: [], files: ["api.ts"] }));
  const result = await spawnAsync(process.execPath, [TSC, "-p", "tsconfig.json", "--noEmit", "--pretty", "false"], {
    cwd: copy,
    timeout: 240_000,
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

beforeAll(() => {
  mkdirSync(join(ROOT, "test-output"), { recursive: true });
  dir = mkdtempSync(join(ROOT, "test-output", "api-drift-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("web/api.ts is typed by the OpenAPI document (openapi-fetch over web/api-types.ts paths)", () => {
  it("writes no request or answer by hand: every call is the typed client's", () => {
    const source = readFileSync(join(ROOT, "web/api.ts"), "utf8");
    expect(source).toMatch(/^import createClient from "openapi-fetch";$/m);
    expect(source).toMatch(/createClient<paths>\(/);
    expect(source).not.toMatch(/\bfetch\(/);
    expect(source).not.toMatch(/^\s*(export )?interface /m);
    expect(source).not.toMatch(/ as Promise</);
    // The page's calls: 13 through the client (GET and POST), each a path the document declares.
    const calls = [...source.matchAll(/client\.(GET|POST)\("([^"]+)"/g)].map(([, method, path]) => `${method} ${path}`);
    expect(calls.length).toBeGreaterThanOrEqual(13);
    // Every path of the page's calls is one of the document's (that the method fits, the type check says).
    const declared = new Set(
      [...readFileSync(join(ROOT, "web/api-types.ts"), "utf8").matchAll(/^ {4}"(\/[^"]+)": \{$/gm)].map((m) => m[1]),
    );
    expect(declared.has("/web/session") && declared.has("/v1/logins")).toBe(true);
    for (const call of calls) expect(declared.has(call.split(" ")[1]), call).toBe(true);
  });

  it("compiles as it is", async () => {
    const { status, out } = await typecheck();
    expect(out).toBe("");
    expect(status).toBe(0);
  }, 300_000);

  const disagreements: [string, { file: "api.ts" | "api-types.ts"; from: string; to: string }][] = [
    ["a path the document does not have", { file: "api.ts", from: 'client.POST("/v1/logins"', to: 'client.POST("/v1/login"' }],
    [
      "a method the path does not take",
      { file: "api.ts", from: 'client.GET("/v1/tokens/{userId}"', to: 'client.POST("/v1/tokens/{userId}"' },
    ],
    ["a body field misnamed", { file: "api.ts", from: "body: { ticket } }", to: "body: { tickets: ticket } }" }],
    ["a path parameter missing", { file: "api.ts", from: "params: { path: { id } }", to: "params: {}" }],
    ["a query parameter of the wrong type", { file: "api.ts", from: "query: { page: String(page) }", to: "query: { page }" }],
    [
      "the document's answer renamed a field the client reads",
      {
        file: "api-types.ts",
        from: "response: string;\n                        /**",
        to: "message2: string;\n                        /**",
      },
    ],
    [
      "the document's body renamed a field the client sends",
      {
        file: "api-types.ts",
        from: "/** @description the confirmation bytes, base64 */\n                    confirmation: string;",
        to: "/** @description the confirmation bytes, base64 */\n                    confirmationBytes: string;",
      },
    ],
  ];
  for (const [what, change] of disagreements) {
    it(`does not compile with ${what}`, async () => {
      const { status, out } = await typecheck(change);
      expect(status).not.toBe(0);
      expect(out).toMatch(/^api\.ts\(\d+,\d+\): error TS\d+/m);
    }, 300_000);
  }
});
