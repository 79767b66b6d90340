// Command-line plumbing shared by every subcommand: usage errors (exit status 2) and argument parsing.
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A mistake in how the command was called: printed to stderr with a hint, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Unix seconds now: the wall clock, unless a test pins it. */
  now(): number;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  now: () => Math.floor(Date.now() / 1000),
};

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
