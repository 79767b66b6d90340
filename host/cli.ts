#!/usr/bin/env node
// The otp-token command: dispatches to one subcommand per file in host/cli/. Each subcommand's
// modules load only when it runs (`otp-token code` must not pay for SQLite, the web server or the
// simulator), so adding one is one line in COMMANDS.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Io, processIo, reportError, UsageError } from "./usage.js";

export const HELP = `Usage: otp-token <command> [options]

Commands:
  bank    the bank side: issue, activate, confirm, verify, resync, unlock, status
  code    print HOTP/TOTP codes for a key (like oathtool)
  demo    the whole re-set-up procedure with a simulated token and bank (start here)
  mcu     the firmware on an emulated nRF51822 (Cortex-M0) in QEMU: a code, or its live panel
  serve   the browser simulator: bank screens beside the token, on a local web server (npm run web)
  sim     the token simulator in the terminal (what npm start runs)
  token   the simulated token from the command line: activate, show, info, erase
  help    this help ('otp-token help <command>' for a command's)

Run 'otp-token <command> --help' for a command's options.
Errors print one line, 'message [code]'; exit status 0 on success, 1 when refused, 2 on a usage error.
`;

type Command = (args: string[], io: Io) => number | Promise<number>;
/** Subcommand name -> a loader of its function (a dynamic import, so only the one that runs loads). */
const COMMANDS: Record<string, () => Promise<Command>> = {
  bank: async () => (await import("./cli/bank.js")).bankCommand,
  code: async () => (await import("./cli/code.js")).codeCommand,
  demo: async () => (await import("./cli/demo.js")).demoCommand,
  mcu: async () => (await import("./cli/mcu.js")).mcuCommand,
  serve: async () => (await import("./web/command.js")).serveCommand,
  sim: async () => (await import("./cli/sim.js")).simCommand,
  token: async () => (await import("./cli/token.js")).tokenCommand,
};

/** Runs the CLI; returns the exit status. Errors go to stderr as one line; usage errors with status 2. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || (name === "help" && rest.length === 0)) {
    io.out(HELP);
    return 0;
  }
  // "otp-token help code" is "otp-token code --help".
  if (name === "help") [name, rest] = [rest[0], ["--help"]];
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    return await (await load())(rest, io);
  } catch (error) {
    const prefix = load ? `otp-token ${name}` : "otp-token";
    return reportError(io, prefix, error);
  }
}

const invoked = process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  // A reader that stops early (| head) is not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(0);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2));
}
