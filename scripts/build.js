#!/usr/bin/env node
// Builds everything into build/ and dist/: one table of steps, each with the files it is made from.
//
//   node scripts/build.js              every step (npm run build, npm install's `prepare`)
//   node scripts/build.js --if-stale   only the steps whose inputs changed since they last ran
//                                      (vitest's global setup, before every run and watch rerun)
//
// Builds hold a lock (one build at a time in this checkout) and a step that is already fresh is
// skipped, so two `npm test` at once never rewrite build/ or dist/ under each other's tests: the
// second waits for the first's build, then finds nothing to do.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

/** name -> how to run it, what it is made from (files or folders) and a file that proves it ran. Order matters. */
export const steps = [
  {
    name: "wasm",
    command: ["scripts/build-wasm.js"],
    inputs: ["assembly", "asconfig.json", "scripts/build-wasm.js", "package.json"],
    output: "build/core.wasm",
  },
  {
    name: "host",
    command: [tsc, "-p", "tsconfig.build.json"],
    inputs: ["host", "bench", "tsconfig.json", "tsconfig.build.json", "package.json"],
    output: "dist/host/index.js",
  },
  {
    // The core inlined for the bundles (host/wasm.browser.ts, host/index.bundle.ts).
    name: "inline",
    command: ["scripts/build-inline-wasm.js"],
    inputs: ["build/core.wasm", "scripts/build-inline-wasm.js"],
    output: "dist/host/core-wasm.js",
  },
  {
    name: "cli",
    command: ["scripts/build-cli.js"],
    inputs: ["host", "scripts/build-cli.js", "package.json"],
    output: "dist/host/cli.js",
  },
  {
    name: "web",
    command: ["scripts/build-web.js"],
    inputs: ["web", "host", "scripts/build-web.js", "package.json"],
    output: "dist/web/app.js",
  },
  {
    // No output to check: without the ARM toolchain the step makes none (it says so and succeeds).
    name: "mcu",
    command: ["scripts/build-mcu.js"],
    inputs: [
      "mcu",
      "build/token.wasm",
      "build/token.debug.wasm",
      "scripts/build-mcu.js",
      "scripts/size.js",
      "package.json",
      // token_abi.h is generated from these.
      "host/abi.ts",
      "host/mcu/protocol.ts",
      "host/mcu/panel.ts",
    ],
  },
];

const STAMPS = join(root, "node_modules/.cache/otp-token-build");
const LOCK = join(STAMPS, "lock");
const LOCK_WAIT_MS = 15 * 60_000;

/** The newest modification time (ms) of `path` or anything below it; 0 if it does not exist. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs; // a deleted file changes its folder's time
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

function stale(step) {
  const stamp = join(STAMPS, step.name);
  if (!existsSync(stamp) || (step.output && !existsSync(join(root, step.output)))) return true;
  const built = statSync(stamp).mtimeMs;
  return step.inputs.some((input) => newest(join(root, input)) > built);
}

function holderAlive() {
  try {
    process.kill(Number(readFileSync(join(LOCK, "pid"), "utf8")), 0);
    return true;
  } catch (error) {
    // No pid file yet (the holder is between mkdir and write) counts as alive; a gone process does not.
    return error.code !== "ESRCH";
  }
}

function lock() {
  mkdirSync(STAMPS, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let said = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, "pid"), String(process.pid));
      return;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
    }
    if (!holderAlive()) {
      rmSync(LOCK, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`build: another build has held ${LOCK} for 15 minutes; remove it if no build runs`);
    if (!said) process.stderr.write("build: waiting for another build in this checkout to finish\n");
    said = true;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}

/** Runs the steps (all, or only the stale ones); returns the names of those that ran. */
export function build({ ifStale = false } = {}) {
  lock();
  const ran = [];
  try {
    for (const step of steps) {
      if (ifStale && !stale(step)) continue;
      const started = new Date();
      const result = spawnSync(process.execPath, step.command, { cwd: root, stdio: "inherit" });
      if (result.status !== 0) throw new Error(`build: the ${step.name} step failed (${step.command.join(" ")})`);
      // The stamp carries the time the step started: an input saved during the step is seen next time.
      const stamp = join(STAMPS, step.name);
      writeFileSync(stamp, "");
      utimesSync(stamp, started, started);
      ran.push(step.name);
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
  return ran;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    build({ ifStale: process.argv.includes("--if-stale") });
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  }
}
