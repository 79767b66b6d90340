// Command-line plumbing shared by every subcommand: usage errors (exit status 2), the one error
// format (`message [code]`, one line, never a stack trace), the language, and argument parsing.
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Term } from "./terms.js";

/** A mistake in how the command was called: printed to stderr with a hint, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A refusal or failure a person can act on, with a stable code: `message [code]`, exit status 1. */
export class CliError extends Error {
  override name = "CliError";

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Lang = "ja" | "en";

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Unix seconds now: the wall clock, unless a test pins it. */
  now(): number;
  /** The language of the procedure's wording (the bank manual's terms); default English. */
  lang?: Lang;
}

/** Japanese when the locale says so (LC_ALL, then LC_MESSAGES, then LANG, as POSIX orders them). */
export function localeLanguage(env: NodeJS.ProcessEnv = process.env): Lang {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || "";
  return /^ja\b|^ja_/i.test(locale) ? "ja" : "en";
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: () => Math.floor(Date.now() / 1000),
  lang: localeLanguage(),
};

/** A term of the bank's manual (host/terms.ts) in the command's language. */
export function word(io: Io, term: Term): string {
  return io.lang === "ja" ? term.ja : term.en;
}

const SYSTEM_ERRORS: Record<string, string> = {
  ENOENT: "no such file or directory",
  EISDIR: "is a directory, not a file",
  ENOTDIR: "a part of the path is not a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
};

/**
 * Any error as one line, `message [code]`, and the exit status: 2 for a usage error, 1 for anything
 * else. The code is the error's own (a bank refusal's, a token status's, a system call's such as
 * ENOENT, SQLite's); an error without one is [internal] (its stack only with OTP_TOKEN_DEBUG=1).
 */
export function describeError(error: unknown): { line: string; status: number } {
  // By name too: the CLI's bundles (scripts/build-cli.js) each carry their own copy of this module.
  if (error instanceof UsageError || (error instanceof Error && error.name === "UsageError"))
    return { line: `${error.message.replace(/\s*\n\s*/g, " ")} [usage]`, status: 2 };
  const e = error as { message?: unknown; code?: unknown; path?: unknown; syscall?: unknown; stack?: unknown } | null;
  const message = typeof e?.message === "string" ? e.message : String(error);
  const code = typeof e?.code === "string" ? e.code : undefined;
  if (code && typeof e?.syscall === "string") {
    const what = typeof e.path === "string" ? `${e.path}: ` : "";
    return { line: `${what}${SYSTEM_ERRORS[code] ?? message.replace(/^[A-Z]+: /, "")} [${code}]`, status: 1 };
  }
  if (code) return { line: `${message.split("\n")[0]} [${code}]`, status: 1 };
  if (process.env.OTP_TOKEN_DEBUG === "1" && typeof e?.stack === "string") process.stderr.write(`${e.stack}\n`);
  return { line: `${message.split("\n")[0]} [internal]`, status: 1 };
}

/** Prints `prefix: message [code]` (and, for a usage error, where help is) and returns the exit status. */
export function reportError(io: Io, prefix: string, error: unknown, helpCommand = prefix): number {
  const { line, status } = describeError(error);
  io.err(`${prefix}: ${line}\n`);
  if (status === 2) io.err(`Run '${helpCommand} --help' for usage.\n`);
  return status;
}

type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

/** What parse() returns: each option's value (boolean flags, string options), and the positionals. */
export interface Parsed<T extends OptionSpec> {
  values: { [K in keyof T]?: T[K] extends { type: "boolean" } ? boolean : string };
  positionals: string[];
}

/** node:util parseArgs, with its errors turned into UsageErrors that name the bad option. */
export function parse<T extends OptionSpec>(args: string[], options: T, positionals = true): Parsed<T> {
  try {
    return parseArgs({ args, options, allowPositionals: positionals, strict: true }) as Parsed<T>;
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

/** A whole number option within bounds. */
export function integerOption(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

/** A non-negative 64-bit whole number option (times, counters). */
export function bigOption(value: string | undefined, name: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || BigInt(value) >= 1n << 64n) {
    throw new UsageError(`--${name} must be a whole number from 0 to 2^64-1, got ${JSON.stringify(value)}`);
  }
  return BigInt(value);
}
