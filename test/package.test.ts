// The package as a user installs it: `npm pack`, then the tarball installed into an empty folder
// with optional and peer dependencies omitted and no compiler on the PATH (only node and npm), so
// nothing native can have been built. There: the root and the subpaths from ES modules and from
// require(), a TypeScript file type-checked against the shipped declarations with the project's
// tsc, `otp-token code`, and the one-line message a bank command gives without better-sqlite3 (or pg).
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type SpawnResult, spawnAsync } from "./helpers.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSC = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const NODE_TYPES = join(ROOT, "node_modules/@types");
const RFC_SEED = "12345678901234567890"; // RFC 4226 Appendix D / RFC 6238 Appendix B (SHA-1)
const NPM = realpathSync(execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim());

let dir: string;
let app: string;
let packed: { filename: string; files: { path: string }[] };
/** PATH with node and npm only: no python3, make or C compiler for a native build to find. */
let bareEnv: NodeJS.ProcessEnv;

/** Runs a command in the app folder (asynchronously: helpers.ts spawnAsync says why). */
function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<SpawnResult> {
  return spawnAsync(command, args, { cwd: app, env: options.env ?? bareEnv, input: options.input, timeout: 120_000 });
}

async function node(args: string[], input?: string): Promise<string> {
  const result = await run(process.execPath, args, { input });
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} failed:\n${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "otp-token-pack-"));
  app = join(dir, "app");
  mkdirSync(app);
  const bin = join(dir, "bin");
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, "node"));
  symlinkSync(NPM, join(bin, "npm"));
  bareEnv = { HOME: process.env.HOME, PATH: bin, npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? dir, ".npm") };

  // --ignore-scripts: `prepare` would rebuild build/ and dist/ under the other test files running
  // now; vitest's global setup has already brought them up to date.
  const { stdout: out } = await promisify(execFile)("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 120_000,
  });
  [packed] = JSON.parse(out);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true }));
  const install = await run("npm", [
    "install",
    join(dir, packed.filename),
    "--omit=optional",
    "--omit=peer",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
  ]);
  if (install.status !== 0) throw new Error(`npm install of the tarball failed:\n${install.stderr}`);
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("the package, installed without optional and peer dependencies", () => {
  it("ships LICENSE, the library, the command and the wasm, and no benchmarks, test-only modules or sources", () => {
    const files = packed.files.map((f) => f.path);
    for (const file of [
      "LICENSE",
      "README.md",
      "package.json",
      "dist/host/index.js",
      "dist/host/index.d.ts",
      "dist/host/cli.js",
      "dist/web/app.js",
      "build/core.wasm",
      "build/token.wasm",
      "build/token.debug.wasm.map",
      "docs/design.md",
    ]) {
      expect(files, file).toContain(file);
    }
    for (const subpath of ["bank/index", "bank/protocol", "token/index", "board/index"]) {
      expect(files).toContain(`dist/host/${subpath}.js`);
      expect(files).toContain(`dist/host/${subpath}.d.ts`);
    }
    expect(files.filter((f) => f.startsWith("dist/bench/"))).toEqual([]);
    // The command ships once: bundled (dist/host/cli.js and its chunks in dist/cli/), not also as tsc's files.
    expect(files.filter((f) => f.startsWith("dist/cli/")).length).toBeGreaterThan(2);
    expect(files.filter((f) => /^dist\/host\/(cli|web)\//.test(f))).toEqual([]);
    expect(files.filter((f) => /^dist\/host\/kdf\.|^dist\/host\/display\/decode\.|^build\/(kdf|display)|\.wat$/.test(f))).toEqual([]);
    expect(files.filter((f) => /^(assembly|host|test|scripts|bench|web)\//.test(f))).toEqual([]);
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License/);
  });

  it("installed nothing native: no better-sqlite3, no package with an install script", () => {
    expect(existsSync(join(app, "node_modules/otp-token/package.json"))).toBe(true);
    expect(existsSync(join(app, "node_modules/better-sqlite3"))).toBe(false);
    const lock = JSON.parse(readFileSync(join(app, "package-lock.json"), "utf8"));
    const installed = Object.entries(lock.packages as Record<string, { hasInstallScript?: boolean }>).filter(([path]) => path !== "");
    expect(installed.map(([path]) => path)).toContain("node_modules/otp-token");
    expect(installed.filter(([, entry]) => entry.hasInstallScript).map(([path]) => path)).toEqual([]);
  });

  it("the root works from an ES module", async () => {
    const out = await node([
      "--input-type=module",
      "-e",
      `
      import { totp, hotp, createTotp } from "otp-token";
      const seed = new TextEncoder().encode("${RFC_SEED}");
      const generator = createTotp(seed, { digits: 8, period: 30 });
      console.log(hotp(seed, 0), totp(seed, 59, { digits: 8, period: 30 }), generator.generate(1111111109), generator.verify("07081804", 1111111109));
    `,
    ]);
    expect(out.trim()).toBe("755224 94287082 07081804 0");
  });

  it("the root works from require()", async () => {
    const out = await node([
      "--input-type=commonjs",
      "-e",
      `
      const { totp, hotp } = require("otp-token");
      const seed = new TextEncoder().encode("${RFC_SEED}");
      console.log(hotp(seed, 1), totp(seed, 1234567890, { digits: 8, period: 30 }));
    `,
    ]);
    expect(out.trim()).toBe("287082 89005924");
  });

  it.each(["module", "commonjs"])("the subpaths load from %s: the simulated token shows the code the library computes", async (type) => {
    const load =
      type === "module"
        ? `const [{ SimToken }, { Board }, protocol, { totp }] = await Promise.all(["otp-token/token", "otp-token/board", "otp-token/protocol", "otp-token"].map((m) => import(m)));`
        : `const [{ SimToken }, { Board }, protocol, { totp }] = ["otp-token/token", "otp-token/board", "otp-token/protocol", "otp-token"].map((m) => require(m));`;
    const out = await node([
      `--input-type=${type}`,
      "-e",
      `(async () => {
      ${load}
      const seed = new TextEncoder().encode("${RFC_SEED}");
      const token = new SimToken({ board: new Board({ randomSeed: 1 }) });
      token.addProfile({ seed, label: "PKG" });
      token.press();
      const screen = token.screen();
      console.log(screen.mode, screen.code === totp(seed, Number(token.rtcSeconds())), protocol.REQUEST_BYTES);
    })()`,
    ]);
    expect(out.trim()).toBe("otp true 82");
  });

  it.each(["module", "commonjs"])("otp-token/bank loads from %s and says in one line what the SQLite store needs", async (type) => {
    const load =
      type === "module"
        ? `const { openStore, Bank } = await import("otp-token/bank");`
        : `const { openStore, Bank } = require("otp-token/bank");`;
    const out = await node([
      `--input-type=${type}`,
      "-e",
      `(async () => {
      ${load}
      try { await openStore("bank.sqlite", { create: true }); } catch (error) { console.log(typeof Bank, error.name, error.message); }
    })()`,
    ]);
    expect(out.trim()).toBe("function StoreOpenError the bank's SQLite store needs better-sqlite3: npm i better-sqlite3");
    // Nothing is created on the way: no empty database file left behind.
    expect(existsSync(join(app, "bank.sqlite"))).toBe(false);
  });

  it("type-checks a TypeScript file against the shipped declarations", async () => {
    // Node's types only: no @types/better-sqlite3 anywhere the check can look.
    const typeRoots = join(app, "node-types-only");
    mkdirSync(typeRoots, { recursive: true });
    if (!existsSync(join(typeRoots, "node"))) symlinkSync(join(NODE_TYPES, "node"), join(typeRoots, "node"), "dir");
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "nodenext",
          moduleResolution: "nodenext",
          target: "es2022",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
          typeRoots: [typeRoots],
        },
        files: ["check.ts"],
      }),
    );
    writeFileSync(
      join(app, "check.ts"),
      `
      import { createTotp, totp, type Algorithm, type OtpOptions } from "otp-token";
      import { SimToken, type Screen } from "otp-token/token";
      import { Board } from "otp-token/board";
      import { REQUEST_BYTES } from "otp-token/protocol";
      // otp-token/bank without @types/better-sqlite3 (this app has none): its declarations name no type of it.
      import { BUSY_TIMEOUT_MS, openStore, type BankStore } from "otp-token/bank";

      const seed: Uint8Array = new TextEncoder().encode("${RFC_SEED}");
      const algorithm: Algorithm = "SHA256";
      const options: OtpOptions = { algorithm, digits: 8 };
      const code: string = totp(seed, 59, options);
      const offset: number | null = createTotp(seed).verify(code, 59);
      const screen: Screen = new SimToken({ board: new Board() }).screen();
      const bytes: number = REQUEST_BYTES;
      // @ts-expect-error digits is a number: the declarations are real types, not any
      totp(seed, 59, { digits: "8" });
      const opening: () => Promise<BankStore> = () => openStore("bank.sqlite");
      console.log(code, offset, screen.mode, bytes, BUSY_TIMEOUT_MS, opening);
    `,
    );
    const result = await run(process.execPath, [TSC, "-p", "tsconfig.json"]);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.status).toBe(0);
  }, 120_000);

  it("otp-token code prints the RFC 6238 code", async () => {
    const result = await run(join(app, "node_modules/.bin/otp-token"), [
      "code",
      "--time",
      "59",
      "--digits",
      "8",
      Buffer.from(RFC_SEED).toString("hex"),
    ]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toBe("84755224\n");
  });

  it("a bank command says in one line, without a stack trace, that it needs better-sqlite3", async () => {
    const env = { ...bareEnv, OTP_BANK_MASTER_KEY: "11".repeat(32) };
    const result = await run(join(app, "node_modules/.bin/otp-token"), ["bank", "init", "--db", join(dir, "bank.sqlite")], { env });
    expect(result.stderr).toBe("otp-token bank init: the bank's SQLite store needs better-sqlite3: npm i better-sqlite3 [store]\n");
    expect(result.status).toBe(1);
    expect(existsSync(join(dir, "bank.sqlite"))).toBe(false);
    // The same for PostgreSQL, whose node-postgres is an optional peer too.
    const postgres = await run(join(app, "node_modules/.bin/otp-token"), ["bank", "status", "--db", "postgres://bank@127.0.0.1:1/bank"], {
      env,
    });
    expect(postgres.stderr).toBe("otp-token bank status: the bank's PostgreSQL store needs node-postgres: npm i pg [store]\n");
    expect(postgres.status).toBe(1);
  });
});
