// Shared by the tests: every test that runs wasm runs it on each build of the same sources.
import { spawn, spawnSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { it, onTestFailed } from "vitest";
import type { CoreBuild } from "../host/core.js";

/** Release (speed), release (size) and debug builds of the core. */
export const CORE_BUILDS: CoreBuild[] = ["release", "small", "debug"];

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");
export const fromHex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ""), "hex"));
export const ascii = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, "latin1"));

/** A deterministic byte pattern, different for every (length, seed). */
export function pattern(length: number, seed = 0): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761 + length * 40503 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

// ---- Tools the tests drive (oathtool, tmux, Chromium, QEMU, PostgreSQL, python3-pskc, pskctool) ----

/** Whether `command args` runs and exits 0 (`oathtool --version`, `tmux -V`): the tool is installed. */
export function commandWorks(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

export type ToolVerdict = "run" | "skip" | "fail";

/**
 * What the tests needing a tool do: run where it is; where it is missing, skip locally, and fail
 * under CI=true, so that CI cannot pass by skipping what it was meant to prove.
 */
export function toolVerdict(available: boolean, env: Record<string, string | undefined> = process.env): ToolVerdict {
  if (available) return "run";
  return env.CI === "true" ? "fail" : "skip";
}

/** What a missing tool leaves out, and the Debian package that brings it. */
export function missingToolMessage(debianPackage: string, why: string): string {
  return `${why} (Debian: apt-get install ${debianPackage}; .ci/run installs it)`;
}

/**
 * Whether the tests needing `debianPackage` run here; they run under `it.runIf` / `describe.runIf` of
 * the answer. Call it where tests are collected (a file's top level, or its describe). Where the
 * tool is missing, one test named with the reason is reported skipped, or under CI=true failed.
 */
export function requireTool(debianPackage: string, available: boolean, why: string): boolean {
  const verdict = toolVerdict(available);
  if (verdict === "run") return true;
  const message = missingToolMessage(debianPackage, why);
  if (verdict === "skip") {
    console.warn(`${debianPackage} is missing: ${message}`);
    it.skip(`${debianPackage} is missing: ${message}`, () => undefined);
  } else {
    it(`${debianPackage} is missing (CI=true: a missing tool fails the run)`, () => {
      throw new Error(`CI=true and ${debianPackage} is missing: ${message}`);
    });
  }
  return false;
}

// ---- Random test inputs that a failure can replay ----

/** A seeded source of test inputs (mulberry32, 32-bit state). */
export interface TestRandom {
  readonly seed: number;
  /** Uniform in [0, 1), 53 bits. */
  next(): number;
  /** An integer in [min, max) (max - min up to 2^53), as node:crypto's randomInt. */
  int(min: number, max: number): number;
  /** `length` random bytes, as node:crypto's randomBytes. */
  bytes(length: number): Buffer;
}

/** mulberry32 from `seed`: the same seed, the same inputs. */
export function seededRandom(seed: number): TestRandom {
  let state = seed >>> 0;
  const word = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = () => ((word() >>> 5) * 2 ** 26 + (word() >>> 6)) / 2 ** 53;
  return {
    seed: seed >>> 0,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min)),
    bytes: (length) => {
      const out = Buffer.alloc(length);
      for (let i = 0; i < length; i += 4) {
        const w = word();
        for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = w >>> (8 * j);
      }
      return out;
    },
  };
}

/** TEST_SEED when set (a decimal or 0x integer below 2^32), else a fresh random seed. */
export function testSeed(env: Record<string, string | undefined> = process.env): number {
  const given = env.TEST_SEED;
  if (given === undefined || given === "") return randomInt(0, 2 ** 32);
  const seed = Number(given);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`TEST_SEED must be an integer in [0, 2^32): ${given}`);
  return seed;
}

/**
 * The random inputs of one test, from TEST_SEED or a fresh seed. Call it inside the test: when the
 * test fails, its name and `TEST_SEED=<seed>` are printed, and that run replays its inputs.
 */
export function testRandom(): TestRandom {
  const random = seededRandom(testSeed());
  onTestFailed(({ task }) => {
    console.error(`${task.name}: its random inputs replay with TEST_SEED=${random.seed}`);
    for (const error of task.result?.errors ?? []) error.message = `${error.message} [TEST_SEED=${random.seed}]`;
  });
  return random;
}

export interface SpawnResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * spawnSync's result without blocking the test worker: a synchronous spawn that runs longer than
 * vitest's 60 s RPC timeout (npm install, QEMU, on a loaded machine) fails the whole run with
 * "Timeout calling onTaskUpdate" even though every test passed.
 */
export function spawnAsync(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {},
): Promise<SpawnResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeout });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? "");
  });
}
