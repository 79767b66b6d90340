#!/usr/bin/env node
// The otp-token command: dispatches to one subcommand per file in host/cli/.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bankCommand } from "./cli/bank.js";
import { codeCommand } from "./cli/code.js";
import { demoCommand } from "./cli/demo.js";
import { simCommand } from "./cli/sim.js";
import { tokenCommand } from "./cli/token.js";
import { type Io, processIo, reportError, UsageError } from "./cli/usage.js";
import { serveCommand } from "./web/command.js";

export const HELP = `Usage: otp-token <command> [options]

Commands:
  bank    the bank side: issue, activate, confirm, verify, resync, unlock, status
  code    print HOTP/TOTP codes for a key (like oathtool)
  demo    the whole re-set-up procedure with a simulated token and bank (start here)
  mcu     the firmware on an emulated nRF51822 (Cortex-M0) in QEMU: a code, or its live panel
  serve   the browser simulator: bank screens beside the token, on a local web server (npm run web)
  sim     the token simulator in the terminal (what npm start runs)
  token   the simulated token from the command line: activate, show, info
  help    this help ('otp-token help <command>' for a command's)

Run 'otp-token <command> --help' for a command's options.
Errors print one line, 'message [code]'; exit status 0 on success, 1 when refused, 2 on a usage error.
`;

type Command = (args: string[], io: Io) => number | Promise<number>;
const COMMANDS: Record<string, Command> = { bank: bankCommand, code: codeCommand, demo: demoCommand, serve: serveCommand, sim: simCommand, token: tokenCommand,
  mcu: async (args, io) => (await import("./cli/mcu.js")).mcuCommand(args, io) };

/** Runs the CLI; returns the exit status. Errors go to stderr as one line; usage errors with status 2. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || (name === "help" && rest.length === 0)) {
    io.out(HELP);
    return 0;
  }
  // "otp-token help code" is "otp-token code --help".
  if (name === "help") [name, rest] = [rest[0], ["--help"]];
  const command: Command | undefined = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    return await command(rest, io);
  } catch (error) {
    const prefix = command ? `otp-token ${name}` : "otp-token";
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
