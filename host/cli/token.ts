// otp-token token: the token side of the procedure from the command line, on the same simulated
// token as npm start (its flash file), against a bank database through the same activation messages.
// `activate` follows the manual's steps 5 and 6 on the token: the IDs and the 利用開始パスワード, the
// consent (同意する), 送信 (the request goes to the bank, its answer comes back), then 登録 (the token
// checks the answer, stores the profile, and its confirmation goes to the bank: docs/activation.md).
import { resolve } from "node:path";
import stringWidth from "string-width";
import { STATUS_BAD_TAG, STATUS_LOCKED } from "../abi.js";
import { type ActivationAnswer, Bank } from "../bank/bank.js";
import { MasterKey } from "../bank/crypto.js";
import { BankError } from "../bank/errors.js";
import { openStore } from "../bank/open-store.js";
import { ACTIVATION_PASSWORD_PATTERN, SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../identity.js";
import { refusalWords, registerRefusalWords, tokenActivationLockedWords } from "../refusals.js";
import { GUIDANCE, TERMS } from "../terms.js";
import { defaultFlashPath, FlashFileError, openTokenFile, saveTokenFile } from "../token/flash-file.js";
import { LinkError } from "../token/link.js";
import type { SimToken } from "../token/sim-token.js";
import { DEFAULT_DB, databaseOf } from "../defaults.js";
import { isYes, processStdin, type Terminal } from "./prompt.js";
import { describeScreen } from "./sim.js";
import { CliError, type Io, parse, reportError, UsageError, word } from "../usage.js";

const FLASH_OPTION = `  --flash PATH            the token's flash image (default $OTP_TOKEN_HOME/token.flash,
                          $OTP_TOKEN_HOME defaulting to ~/.otp-token)`;

export const TOKEN_HELP: Record<string, string> = {
  "": `Usage: otp-token token <subcommand> [options]

The simulated token of npm start (its flash file), from the command line.

Subcommands:
  activate   register the token with the bank (the manual's steps 5 and 6): Service ID, User ID,
             利用開始パスワード (activation password), 同意する (consent), 送信 (send), 登録
             (register); the token then shows its first code for the bank's 認証確認 screen
  show       press the token's button and print what it shows
  info       the token's serial number, firmware, profiles and clock (never a seed)

Run 'otp-token token <subcommand> --help' for its options.

Options:
${FLASH_OPTION}
  -h, --help              this help

Exit status: 0 on success, 1 when the token or the bank refused, 2 on a usage error.
`,
  activate: `Usage: otp-token token activate --service-id ID --user-id ID [options]

Registers the token with the bank, as the manual's steps 5 and 6 do on the token:
  1. the Service ID and User ID the bank's screen showed, and the 利用開始パスワード (activation
     password) chosen at トークン発行 (read without echo; never from the command line);
  2. 同意する: you agree to the terms of use;
  3. 送信 (send): the token's activation request goes to the bank; its answer is shown;
  4. 登録 (register): the token checks the answer (a wrong 利用開始パスワード shows here: it says how
     many attempts are left before the issue is void), stores the profile and sends its confirmation
     to the bank; it then shows its first code, which you type into the bank's
     ワンタイムパスワード認証確認 screen (otp-token bank confirm).

Without a terminal the password is the first line of standard input, and --yes is needed for the
consent and the registration. Wording is Japanese when the locale is (LANG=ja_JP.UTF-8).

Options:
  --service-id ID         the 8-digit Service ID (サービスID) the bank showed
  --user-id ID            the 16-character User ID (ユーザID) the bank showed
  --yes                   agree and register without asking (for scripts)
  --db PATH               the bank database, default ${DEFAULT_DB}
  --master-key-file PATH  the bank's master key, or $OTP_BANK_MASTER_KEY
${FLASH_OPTION}
  -h, --help              this help

Exit status: 0 when registered, 1 when the token or the bank refused (or you declined), 2 on a
usage error.
`,
  show: `Usage: otp-token token show [options]

Presses the token's button A and prints its display and what it shows (the code and the seconds
left before it changes, 59 .. 0).

Options:
${FLASH_OPTION}
  -h, --help              this help
`,
  info: `Usage: otp-token token info [options]

Prints the token's serial number, firmware, battery, clock, and its profiles (label, algorithm,
digits, step); never a seed.

Options:
${FLASH_OPTION}
  -h, --help              this help
`,
};

const SUBCOMMANDS = ["activate", "show", "info"];

export function makeTokenCommand(stdin: Terminal = processStdin) {
  return async function tokenCommand(args: string[], io: Io): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
      io.out(TOKEN_HELP[""]);
      return 0;
    }
    if (!SUBCOMMANDS.includes(sub)) throw new UsageError(`unknown token subcommand ${JSON.stringify(sub)}: use activate, show or info`);
    const { values, positionals } = parse(rest, {
      flash: { type: "string" },
      "service-id": { type: "string" },
      "user-id": { type: "string" },
      db: { type: "string" },
      "master-key-file": { type: "string" },
      yes: { type: "boolean", short: "y" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.out(TOKEN_HELP[sub]);
      return 0;
    }
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    if (sub !== "activate") {
      for (const option of ["service-id", "user-id", "db", "master-key-file", "yes"] as const) {
        if (values[option] !== undefined) throw new UsageError(`--${option} is for 'token activate'`);
      }
    }
    const flashPath = resolve(values.flash ?? defaultFlashPath());
    let token: SimToken;
    try {
      token = openTokenFile(flashPath).token;
    } catch (error) {
      if (error instanceof FlashFileError) throw new CliError("flash-file", error.message);
      throw error;
    }
    try {
      if (sub === "info") {
        const info = token.info();
        io.out(
          `serial ${info.serial}, firmware ${info.firmware}, battery ${info.batteryMillivolts} mV, clock ${info.clockValid ? "valid" : "lost"}\n`,
        );
        for (const p of token.profiles()) io.out(`profile ${p.index}: ${p.label} (${p.algorithm}, ${p.digits} digits, ${p.period} s)\n`);
        return 0;
      }
      if (sub === "show") {
        token.press();
        io.out(`${token.render()}\n${describeScreen(token.screen(), io.lang)}\n`);
        return 0;
      }
      return await activate(token, values, io, stdin);
    } catch (error) {
      return reportError(io, `otp-token token ${sub}`, error);
    } finally {
      saveTokenFile(token, flashPath);
    }
  };
}

export const tokenCommand = makeTokenCommand();

interface ActivateOptions {
  "service-id"?: string;
  "user-id"?: string;
  db?: string;
  "master-key-file"?: string;
  yes?: boolean;
}

async function activate(token: SimToken, values: ActivateOptions, io: Io, stdin: Terminal): Promise<number> {
  const serviceId = values["service-id"];
  const userId = values["user-id"];
  if (serviceId === undefined || userId === undefined)
    throw new UsageError("activate needs --service-id and --user-id (as the bank showed them)");
  if (!SERVICE_ID_PATTERN.test(serviceId)) throw new UsageError("--service-id must be 8 digits");
  if (!USER_ID_PATTERN.test(userId)) throw new UsageError("--user-id must be 16 upper-case letters or digits");
  if (!stdin.isTTY && !values.yes) {
    throw new UsageError(
      `standard input is not a terminal: give --yes to agree (${TERMS.agree.ja}) and register (${TERMS.register.ja}) without being asked`,
    );
  }
  // The bank opens first: a wrong master key or database is said before the holder types anything.
  const masterKey = MasterKey.load(values["master-key-file"]);
  const store = await openStore(databaseOf(values));
  try {
    const bank = await Bank.open(store, masterKey, { now: io.now, actor: "cli" });
    const label = (term: { ja: string; en: string }) => `${word(io, term)}${" ".repeat(Math.max(1, 22 - stringWidth(word(io, term))))}`;
    io.out(`${word(io, GUIDANCE.tokenSetup)}\n`);
    io.out(`  ${label(TERMS.serviceId)} ${serviceId}\n  ${label(TERMS.userId)} ${userId}\n`);
    const password = stdin.isTTY ? await stdin.readSecret(`  ${label(TERMS.activationPassword)} `) : stdin.readAll().split(/\r?\n/)[0];
    if (!ACTIVATION_PASSWORD_PATTERN.test(password)) {
      throw new UsageError(
        `the ${TERMS.activationPassword.en} (${TERMS.activationPassword.ja}) must be ${TERMS.passwordHint.en} (${TERMS.passwordHint.ja})`,
      );
    }
    if (!values.yes && !isYes(await stdin.ask(`[ ] ${word(io, TERMS.agree)}? [y/N] `))) {
      throw new CliError(
        "not-agreed",
        io.lang === "ja" ? `「${TERMS.agree.ja}」がないため、送信しませんでした。` : `not sent: you did not agree ("${TERMS.agree.en}")`,
      );
    }
    if (values.yes) io.out(`[x] ${word(io, TERMS.agree)} (--yes)\n`);

    // 送信: the token's request (message 1) to the bank, and the bank's answer (message 2).
    let request: Uint8Array;
    try {
      request = token.link.activateBegin(serviceId, userId, password);
    } catch (error) {
      if (error instanceof LinkError && error.status === STATUS_LOCKED)
        throw new CliError(error.code, word(io, tokenActivationLockedWords()));
      throw error;
    }
    io.out(
      `${word(io, TERMS.send)}: ${io.lang === "ja" ? `トークンの登録要求（${request.length}バイト）を銀行へ送信しました` : `the token's activation request (${request.length} bytes) went to the bank`}\n`,
    );
    io.out(`  ${Buffer.from(request).toString("hex")}\n`);
    let answer: ActivationAnswer;
    try {
      answer = await bank.activate(request);
    } catch (error) {
      // The token must not stay on its activating screen after a refusal.
      token.link.activateCancel();
      if (error instanceof BankError) {
        const words = refusalWords(error, "register");
        throw new CliError(error.code, words ? word(io, words) : error.message);
      }
      throw error;
    }
    io.out(
      `${io.lang === "ja" ? "銀行の応答" : "The bank's answer"}: ${io.lang === "ja" ? `受け付けました（${answer.response.length}バイト）` : `accepted (${answer.response.length} bytes)`}\n`,
    );
    io.out(`  ${Buffer.from(answer.response).toString("hex")}\n`);

    // 登録: the token checks the answer (or, declined, forgets the activation).
    if (!values.yes && !isYes(await stdin.ask(`${word(io, GUIDANCE.bankAnswered)} ${word(io, TERMS.register)}? [y/N] `))) {
      token.link.activateCancel();
      throw new CliError(
        "not-registered",
        io.lang === "ja" ? "登録しませんでした。トークンは登録前の状態に戻りました。" : "not registered: the token forgot the activation",
      );
    }
    let registered: { profile: number; confirmation: Uint8Array };
    try {
      registered = token.link.activateFinish(answer.response);
    } catch (error) {
      // The run is over for the holder either way: the token forgets it (and leaves its activating screen).
      token.link.activateCancel();
      // With CPace only the token can tell a wrong 利用開始パスワード: the bank's confirmation fails here.
      if (error instanceof LinkError && error.status === STATUS_BAD_TAG) {
        throw new CliError("wrong-password", word(io, registerRefusalWords(answer.attemptsLeft, token.info().activationLocked)));
      }
      throw error;
    }
    // The token's confirmation (message 3) goes to the bank, which takes the counted attempt back.
    try {
      await bank.register(registered.confirmation);
    } catch (error) {
      if (error instanceof BankError) {
        const words = refusalWords(error, "register");
        throw new CliError(error.code, words ? word(io, words) : error.message);
      }
      throw error;
    }
    const index = registered.profile;
    io.out(
      `${word(io, TERMS.register)}: ${io.lang === "ja" ? `プロファイル ${index}` : `profile ${index}`}\n${token.render()}\n${describeScreen(token.screen(), io.lang)}\n`,
    );
    io.out(`${word(io, GUIDANCE.registered)}\n${word(io, TERMS.countdownNote)}\n`);
    io.out(`  otp-token bank confirm --user-id ${userId} ${token.screen().code}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
