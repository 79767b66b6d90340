// otp-token demo: the whole one-time-password re-set-up procedure in one run, a simulated token
// and a bank on accelerated virtual time, each bank screen printed as text beside what the token
// shows. The newcomer's first look (DESIGN.md, "The procedure it implements").
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Bank } from "../bank/bank.js";
import { MasterKey } from "../bank/crypto.js";
import { BankStore } from "../bank/store.js";
import { SimToken } from "../token/sim-token.js";
import { describeScreen } from "./sim.js";
import { type Io, parse } from "./usage.js";

export const DEMO_HELP = `Usage: otp-token demo [options]

Runs the whole one-time-password re-set-up procedure with a simulated token and bank:
issue (mail address, activation password) -> Service ID and User ID -> token registration
(activation: the seed is agreed by X25519, never sent) -> the token's code with its 60-second
countdown -> the bank confirms it -> the login screen -> a later login with a new code.

Options:
  --quiet        print the bank screens and codes, not the token's panel
  -h, --help     this help
`;

const WIDTH = 64;

function box(title: string, lines: string[]): string {
  const top = `┌─ ${title} ${"─".repeat(Math.max(0, WIDTH - title.length - 3))}┐`;
  const body = lines.map((line) => `│ ${line.padEnd(WIDTH - 1)}│`);
  return [top, ...body, `└${"─".repeat(WIDTH)}┘`].join("\n");
}

export function demoCommand(args: string[], io: Io): number {
  const { values } = parse(args, { quiet: { type: "boolean" }, help: { type: "boolean", short: "h" } }, false);
  if (values.help) {
    io.out(DEMO_HELP);
    return 0;
  }
  const outbox = mkdtempSync(join(tmpdir(), "otp-token-demo-"));
  const store = BankStore.open(":memory:");
  try {
    const token = new SimToken();
    const clock = token.board.clock;
    const bank = new Bank(store, MasterKey.fromBytes(randomBytes(32)), { now: () => clock.now() / 1000, outboxDir: outbox });
    const panel = (title: string) => {
      io.out(`\n${title}\n`);
      if (!values.quiet) io.out(`${token.render()}\n`);
      io.out(`token: ${describeScreen(token.screen())}\n`);
    };
    const at = () => new Date(Math.floor(clock.now() / 1000) * 1000).toISOString().replace(".000Z", "Z");

    io.out(`otp-token demo: one-time-password re-set-up, simulated token and bank (virtual time ${at()})\n\n`);
    io.out(`${box("Internet banking: token issue", [
      "Mobile mail address           [ taro.yamada@example.jp      ]",
      "Mobile mail address (again)   [ taro.yamada@example.jp      ]",
      "Activation password           [ ******                      ]",
      "Activation password (again)   [ ******                      ]",
      "                                              [ Issue token ]",
    ])}\n`);
    const password = "Pass1234";
    const issued = bank.issue({ mail: "taro.yamada@example.jp", mailConfirm: "taro.yamada@example.jp", password, passwordConfirm: password });
    io.out(`\n${box("Internet banking: authentication confirm", [
      `The set-up mail was sent to ${issued.mail}`,
      `Service ID   ${issued.serviceId}`,
      `User ID      ${issued.userId}`,
      "One-time password  [        ]        [ Confirm ]  [ Back ]",
    ])}\n`);
    if (issued.mailFile) {
      const mail = readFileSync(issued.mailFile, "utf8");
      io.out(`\nThe set-up mail, as written to the bank's outbox:\n${mail.split("\n").map((line) => `  | ${line}`).join("\n")}\n`);
    }

    io.out(`\n${box("Token set-up: registration", [
      `Service ID            [ ${issued.serviceId}         ]`,
      `User ID               [ ${issued.userId} ]`,
      "Activation password   [ ******           ]",
      "[x] I agree to the terms of use",
      "                              [ Send ]  [ Register ]",
    ])}\n`);
    const request = token.link.activateBegin(issued.serviceId, issued.userId, password);
    panel(`Token: activating (request of ${request.length} bytes relayed to the bank)`);
    const response = bank.activate(request);
    const { profile, confirmation } = token.link.activateFinish(response);
    bank.register(confirmation);
    panel(`Token: registered as profile ${profile}: the code and its 60-second countdown (bottom left)`);
    const firstCode = token.screen().code!;

    token.advance(7_000);
    panel("Seven seconds later (the countdown runs; the code stays until the step ends):");

    io.out(`\nThe holder types ${token.screen().code} into the bank's confirm screen and presses Confirm.\n`);
    const confirmed = bank.confirm(issued.serviceId, issued.userId, token.screen().code!);
    io.out(`${box("Internet banking: log in", [
      "One-time password set-up is complete.",
      `Token serial ${token.info().serial} is active (clock drift ${confirmed.driftSteps} steps).`,
      "User ID  [                  ]   Password [          ]",
      "                                              [ Log in ]",
    ])}\n`);

    // A later login: two minutes on, the token shows a new code.
    token.advance(120_000);
    token.press();
    panel(`Two minutes later (${at()}), a press on the token:`);
    const loginCode = token.screen().code!;
    const login = bank.verify(issued.serviceId, issued.userId, loginCode);
    io.out(`\n${box("Internet banking: welcome", [
      `Logged in with one-time password ${loginCode} (step offset ${login.offset}).`,
      `The first code ${firstCode} and every earlier step are now refused:`,
      "each code is accepted once.",
    ])}\n`);
    try {
      bank.verify(issued.serviceId, issued.userId, loginCode);
    } catch (error) {
      io.out(`Trying ${loginCode} again: ${(error as Error).message}\n`);
    }
    return 0;
  } finally {
    store.close();
    rmSync(outbox, { recursive: true, force: true });
  }
}
