#!/usr/bin/env node
// The otp-token command: dispatches to one subcommand per file in host/cli/.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { bankCommand } from "./cli/bank.js";
import { codeCommand } from "./cli/code.js";
import { demoCommand } from "./cli/demo.js";
import { simCommand } from "./cli/sim.js";
import { tokenCommand } from "./cli/token.js";
import { type Io, processIo, UsageError } from "./cli/usage.js";
import { serveCommand } from "./web/command.js";

export const HELP = `Usage: otp-token <command> [options]

Commands:
  bank    the bank side: issue, activate, confirm, verify, resync, unlock, status
  code    print HOTP/TOTP codes for a key (like oathtool)
  demo    the whole re-set-up procedure with a simulated token and bank (start here)
  serve   the browser simulator: bank screens beside the token, on a local web server (npm run web)
  sim     the token simulator in the terminal (what npm start runs)
  token   the simulated token from the command line: activate, show, info
  help    this help

Run 'otp-token <command> --help' for a command's options.
`;

type Command = (args: string[], io: Io) => number | Promise<number>;
const COMMANDS: Record<string, Command> = { bank: bankCommand, code: codeCommand, demo: demoCommand, serve: serveCommand, sim: simCommand, token: tokenCommand };

/** Runs the CLI; returns the exit status. Usage errors go to stderr with status 2. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.out(HELP);
    return name === undefined ? 2 : 0;
  }
  const command: Command | undefined = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  try {
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    return await command(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`otp-token${command ? ` ${name}` : ""}: ${error.message}\nRun 'otp-token ${command ? `${name} ` : ""}--help' for usage.\n`);
      return 2;
    }
    throw error;
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
