// Shared by the tests: every test that runs wasm runs it on each build of the same sources.
import { spawnSync } from "node:child_process";
import { it } from "vitest";
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
