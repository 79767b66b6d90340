// otp-token's OTP API in bundles (issue 22, item 6): an app that imports { totp, hotp } from
// "otp-token" (the package as installed: node_modules/otp-token, a link to this checkout, resolved
// through its package.json), bundled by esbuild for the browser (run in Chromium) and as one Node file
// (run by node from a folder with no build/ beside it). Both compute RFC 4226 and RFC 6238 codes.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasChromium, launchChromium, sayIfSkipped } from "./browser-helpers.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const APP = `import { hotp, totp } from "otp-token";
const key = new TextEncoder().encode("12345678901234567890");
export const codes = {
  hotp0: hotp(key, 0),
  hotp9: hotp(key, 9),
  totp59: totp(key, 59, { digits: 8, period: 30 }),
  totp1111111109: totp(key, 1111111109, { digits: 8, period: 30 }),
};
`;
// RFC 4226 appendix D; RFC 6238 appendix B (SHA-1).
const EXPECTED = { hotp0: "755224", hotp9: "520489", totp59: "94287082", totp1111111109: "07081804" };

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "otp-bundle-"));
  mkdirSync(join(dir, "node_modules"));
  symlinkSync(ROOT, join(dir, "node_modules/otp-token"), "dir");
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("otp-token in an esbuild bundle", () => {
  it("a single-file Node bundle runs under node with no build/ folder beside it", async () => {
    writeFileSync(join(dir, "node-app.mjs"), `${APP}console.log(JSON.stringify(codes));\n`);
    const out = join(dir, "out", "node-bundle.mjs");
    await build({
      entryPoints: [join(dir, "node-app.mjs")],
      outfile: out,
      bundle: true,
      platform: "node",
      format: "esm",
      logLevel: "silent",
    });
    // One file: the core is inlined (no build/ lookup can succeed from dir/out/).
    const run = spawnSync(process.execPath, [out], { cwd: join(dir, "out"), encoding: "utf8", timeout: 60_000 });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual(EXPECTED);
  }, 120_000);

  it("the browser bundle takes no node: module and inlines the core", async () => {
    writeFileSync(join(dir, "browser-app.mjs"), `${APP}window.otpCodes = codes;\n`);
    const out = join(dir, "out", "browser-bundle.js");
    await build({
      entryPoints: [join(dir, "browser-app.mjs")],
      outfile: out,
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      logLevel: "silent",
    });
    const bundle = readFileSync(out, "utf8");
    expect(bundle).not.toMatch(/node:fs|readFileSync/);
    // The core's base64 (build/core.wasm starts \0asm: AGFzbQ).
    expect(bundle).toMatch(/"AGFzbQ[A-Za-z0-9+/=]{1000,}"/);
  }, 120_000);

  if (!hasChromium) sayIfSkipped("test/bundle.test.ts");
  else
    it("the browser bundle computes the codes in Chromium", async () => {
      const bundle = readFileSync(join(dir, "out", "browser-bundle.js"), "utf8");
      const context = await launchChromium(join(dir, "profile"));
      try {
        const page = await context.newPage();
        const errors: string[] = [];
        page.on("pageerror", (error) => errors.push(error.message));
        await page.route("http://bundle.test/**", (route) =>
          route.fulfill(
            route.request().url().endsWith(".js")
              ? { contentType: "text/javascript", body: bundle }
              : { contentType: "text/html", body: '<!doctype html><script type="module" src="/app.js"></script>' },
          ),
        );
        await page.goto("http://bundle.test/");
        await page.waitForFunction(() => (window as unknown as { otpCodes?: unknown }).otpCodes !== undefined || undefined, undefined, {
          timeout: 60_000,
        });
        expect(await page.evaluate(() => (window as unknown as { otpCodes: unknown }).otpCodes)).toEqual(EXPECTED);
        expect(errors).toEqual([]);
      } finally {
        await context.close();
      }
    }, 180_000);
});
