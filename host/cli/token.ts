// otp-token token: the token side of the procedure from the command line, on the same simulated
// token as npm start (its flash file), against a bank database through the same activation messages.
// `activate` follows the manual's steps 5 and 6 on the token: the IDs and the 利用開始パスワード, the
// consent (同意する), 送信 (the request goes to the bank, its answer comes back), then 登録 (the token
// checks the answer, stores the profile, and its confirmation goes to the bank: docs/activation.md).
import { resolve } from "node:path";
import stringWidth from "string-width";
import { MAX_PROFILES, STATUS_BAD_TAG, STATUS_DENIED, STATUS_LOCKED } from "../abi.js";
import { type ActivationAnswer, Bank } from "../bank/bank.js";
import { MasterKey } from "../bank/crypto.js";
import { BankError } from "../bank/errors.js";
import { openStore } from "../bank/open-store.js";
import { ACTIVATION_PASSWORD_PATTERN, SERVICE_ID_PATTERN, USER_ID_PATTERN } from "../identity.js";
import { refusalWords, registerRefusalWords, tokenActivationLockedWords } from "../refusals.js";
import { GUIDANCE, LOGIN, TERMS } from "../terms.js";
import { defaultFlashPath, FlashFileError, openTokenFile, saveTokenFile } from "../token/flash-file.js";
import { LinkError, normaliseLabel, type ProfileInfo, type Registration } from "../token/link.js";
import type { SimToken } from "../token/sim-token.js";
import { FlickerPage } from "../optical/flicker.js";
import { parseFrameText } from "../optical/frame.js";
import { transferScreens } from "../transaction.js";
import { DEFAULT_DB, databaseOf } from "../defaults.js";
import { isYes, processStdin, type Terminal } from "./prompt.js";
import { describeScreen, wrapLines } from "./sim.js";
import { CliError, type Io, integerOption, parse, reportError, UsageError, word } from "../usage.js";

const FLASH_OPTION = `  --flash PATH            the token's flash image (default $OTP_TOKEN_HOME/token.flash,
                          $OTP_TOKEN_HOME defaulting to ~/.otp-token)`;

export const TOKEN_HELP: Record<string, string> = {
  "": `Usage: otp-token token <subcommand> [options]

The simulated token of npm start (its flash file), from the command line.

Subcommands:
  activate   register the token with the bank (the manual's steps 5 and 6): Service ID, User ID,
             利用開始パスワード (activation password), 同意する (consent), 送信 (send), 登録
             (register); the token then shows its first code for the bank's 認証確認 screen
  show       press the token's button and print what it shows (--profile N or --label L:
             that profile's code)
  info       the token's serial number, firmware, profiles and clock (never a seed)
  erase      erase the token (every profile), or one profile with --profile N; the token
             asks for button A to be held, as it does for its holder
  transfer   a transfer frame typed by hand (the bank page's text under the flicker code):
             the token shows the payee and the amount; hold button A to sign (its code), or refuse

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
  --verbose               also print the protocol messages (hex) that go to and come from the bank
  --db PATH               the bank database, default ${DEFAULT_DB}
  --master-key-file PATH  the bank's master key, or $OTP_BANK_MASTER_KEY
${FLASH_OPTION}
  -h, --help              this help

The token keeps one profile per bank service: when it already holds one for this Service ID (a
re-set-up, or an issue registered but never confirmed), 登録 replaces it, and the token asks for
button A to be held to confirm (this command holds it).

Exit status: 0 when registered, 1 when the token or the bank refused (or you declined), 2 on a
usage error.
`,
  show: `Usage: otp-token token show [--profile N | --label L] [options]

Presses the token's button A and prints which profile it shows, its display and what it shows
(the code and the seconds left before it changes, 59 .. 0). A press shows profile 0 first; with
--profile or --label it presses on to that profile, as the holder would.

Options:
  --profile N             the profile of index N (otp-token token info lists them)
  --label L               the profile labelled L (the bank's is BANK); when two share the label,
                          use --profile
${FLASH_OPTION}
  -h, --help              this help
`,
  erase: `Usage: otp-token token erase [--profile N] [options]

Asks the token to erase every profile (or, with --profile N, to delete that one): the token shows
"HOLD A TO ERASE" (or the profile and "HOLD A TO DELETE") and does it only when button A is held
within 10 s. This command asks you, then holds it. An erased token can be registered again (a token
that refused to register after 5 failures too).

Options:
  --profile N             delete only profile N (otp-token token info lists them)
  --yes                   hold button A without asking (for scripts; needed without a terminal)
${FLASH_OPTION}
  -h, --help              this help

Exit status: 0 when erased, 1 when the token refused (or you declined), 2 on a usage error.
`,
  info: `Usage: otp-token token info [options]

Prints the token's serial number, firmware, battery, clock, and its profiles (label, algorithm,
digits, step); never a seed.

Options:
${FLASH_OPTION}
  -h, --help              this help
`,
};

TOKEN_HELP.transfer = `Usage: otp-token token transfer FRAME... [options]

The manual entry of a transfer (取引認証), for a screen the token cannot read: FRAME is the hex text
the bank's page shows under its flicker code (spaces allowed). The token takes it as if it had read
it, shows the payee (bank code, branch, account) and the amount, and asks whether to hold button A:
a hold signs exactly what it showed and prints the code to type into the bank's page; anything else
is a press, which refuses.

Options:
${FLASH_OPTION}
  -y, --yes               hold button A without being asked (sign)
  -h, --help              this help

Exit status: 0 when signed, 1 when refused (by you or the token), 2 on a usage error.
`;

const SUBCOMMANDS = ["activate", "show", "info", "erase", "transfer"];

export function makeTokenCommand(stdin: Terminal = processStdin) {
  return async function tokenCommand(args: string[], io: Io): Promise<number> {
    const [sub, ...rest] = args;
    if (sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
      io.out(TOKEN_HELP[""]);
      return 0;
    }
    if (!SUBCOMMANDS.includes(sub))
      throw new UsageError(`unknown token subcommand ${JSON.stringify(sub)}: use activate, show, info, erase or transfer`);
    const { values, positionals } = parse(rest, {
      flash: { type: "string" },
      "service-id": { type: "string" },
      "user-id": { type: "string" },
      db: { type: "string" },
      "master-key-file": { type: "string" },
      yes: { type: "boolean", short: "y" },
      verbose: { type: "boolean", short: "v" },
      profile: { type: "string" },
      label: { type: "string" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      io.out(TOKEN_HELP[sub]);
      return 0;
    }
    if (sub === "transfer" && positionals.length === 0) throw new UsageError("give the frame's text: otp-token token transfer A504FB...");
    if (sub !== "transfer" && positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    if (sub !== "activate") {
      for (const option of ["service-id", "user-id", "db", "master-key-file", "verbose"] as const) {
        if (values[option] !== undefined) throw new UsageError(`--${option} is for 'token activate'`);
      }
    }
    if (sub !== "activate" && sub !== "erase" && sub !== "transfer" && values.yes !== undefined)
      throw new UsageError("--yes is for 'token activate', 'token erase' and 'token transfer'");
    if (sub !== "show" && sub !== "erase" && values.profile !== undefined)
      throw new UsageError("--profile is for 'token show' and 'token erase'");
    if (sub !== "show" && values.label !== undefined) throw new UsageError("--label is for 'token show'");
    if (values.profile !== undefined && values.label !== undefined) throw new UsageError("give --profile or --label, not both");
    const profileOption = values.profile === undefined ? undefined : integerOption(values.profile, "profile", 0, MAX_PROFILES - 1, 0);
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
        for (const p of token.profiles()) {
          const service = p.serviceId ? `, ${word(io, TERMS.serviceId)} ${p.serviceId}` : "";
          io.out(`profile ${p.index}: ${p.label} (${p.algorithm}, ${p.digits} digits, ${p.period} s${service})\n`);
        }
        return 0;
      }
      if (sub === "show") return show(token, profileOption, values.label, io);
      if (sub === "erase") return await erase(token, profileOption, values.yes === true, io, stdin);
      if (sub === "transfer") return await transfer(token, positionals.join(" "), values.yes === true, io, stdin);
      return await activate(token, values, io, stdin);
    } catch (error) {
      return reportError(io, `otp-token token ${sub}`, error);
    } finally {
      saveTokenFile(token, flashPath);
    }
  };
}

export const tokenCommand = makeTokenCommand();

/** "profile 1: BANK (Service ID 10212083)", in the holder's language. */
function profileLine(io: Io, profile: ProfileInfo): string {
  const service = profile.serviceId ? ` (${word(io, TERMS.serviceId)} ${profile.serviceId})` : "";
  return `${io.lang === "ja" ? "プロファイル" : "profile"} ${profile.index}: ${profile.label}${service}`;
}

/** The profile `--profile` or `--label` names (or null: none was given), refused when there is no such one. */
function chosenProfile(io: Io, profiles: ProfileInfo[], index: number | undefined, label: string | undefined): ProfileInfo | null {
  const ja = io.lang === "ja";
  const listed =
    profiles.map((p) => `${p.index} ${p.label}${p.serviceId ? ` (${p.serviceId})` : ""}`).join(ja ? "、" : ", ") || (ja ? "なし" : "none");
  const their = ja ? `（このトークンのプロファイル：${listed}）` : ` (its profiles: ${listed})`;
  if (index !== undefined) {
    const profile = profiles[index];
    if (!profile)
      throw new CliError("no-profile", ja ? `プロファイル ${index} はありません${their}` : `the token holds no profile ${index}${their}`);
    return profile;
  }
  if (label === undefined) return null;
  let wanted: string;
  try {
    wanted = normaliseLabel(label);
  } catch (error) {
    throw new UsageError(`--label: ${(error as Error).message}`);
  }
  const matching = profiles.filter((p) => p.label === wanted);
  if (matching.length === 0)
    throw new CliError(
      "no-profile",
      ja ? `${wanted} というプロファイルはありません${their}` : `the token holds no profile labelled ${wanted}${their}`,
    );
  if (matching.length > 1) {
    throw new CliError(
      "ambiguous-label",
      ja
        ? `${wanted} というプロファイルが ${matching.length} 件あります。--profile N で選んでください${their}`
        : `${matching.length} profiles are labelled ${wanted}: give --profile N${their}`,
    );
  }
  return matching[0];
}

/**
 * Presses button A as the holder would: once (the panel wakes on the profile it shows first), then
 * on to the chosen profile; prints which profile it shows, the panel and its words.
 */
function show(token: SimToken, index: number | undefined, label: string | undefined, io: Io): number {
  const profiles = token.profiles();
  const wanted = chosenProfile(io, profiles, index, label);
  token.press();
  for (
    let presses = 0;
    wanted && token.screen().mode === "otp" && token.screen().profile !== wanted.index && presses < profiles.length;
    presses++
  ) {
    token.press();
  }
  const screen = token.screen();
  const shown = screen.mode === "otp" ? profiles[screen.profile] : undefined;
  if (shown) io.out(`${profileLine(io, shown)}\n`);
  io.out(`${token.render()}\n${describeScreen(screen, io.lang)}\n`);
  if (shown && !wanted && profiles.length > 1) {
    const others = profiles.filter((p) => p !== shown).map((p) => profileLine(io, p));
    io.out(
      io.lang === "ja"
        ? `ほかのプロファイル（--profile N または --label L で表示）：\n  ${others.join("\n  ")}\n`
        : `Other profiles (show one with --profile N or --label L):\n  ${others.join("\n  ")}\n`,
    );
  }
  return 0;
}

/**
 * Erases the token, or deletes profile `index`: the token asks for button A to be held (its screen
 * says so); once the holder agrees (or --yes) this holds it, and checks the token did it.
 */
async function erase(token: SimToken, index: number | undefined, yes: boolean, io: Io, stdin: Terminal): Promise<number> {
  if (!stdin.isTTY && !yes) throw new UsageError("standard input is not a terminal: give --yes to hold button A without being asked");
  const profile = chosenProfile(io, token.profiles(), index, undefined);
  if (profile) token.link.requestDelete(profile.index);
  else token.link.requestErase();
  if (profile) io.out(`${profileLine(io, profile)}\n`);
  io.out(`${token.render()}\n${describeScreen(token.screen(), io.lang)}\n`);
  const what = profile ? (io.lang === "ja" ? "削除" : "delete it") : io.lang === "ja" ? "消去" : "erase the token";
  if (
    !yes &&
    !isYes(await stdin.ask(io.lang === "ja" ? `ボタンAを長押しして${what}しますか？ [y/N] ` : `Hold button A to ${what}? [y/N] `))
  ) {
    throw new CliError(
      "not-erased",
      io.lang === "ja" ? "ボタンAを長押ししなかったため、何も変わっていません。" : "nothing changed: button A was not held",
    );
  }
  const before = token.profiles().length;
  token.hold();
  const after = token.profiles().length;
  if (after !== (profile ? before - 1 : 0)) throw new CliError("not-erased", "the token did not confirm the hold: nothing changed");
  io.out(
    profile
      ? io.lang === "ja"
        ? `プロファイル ${profile.index}（${profile.label}）を削除しました。残りのプロファイル：${after}\n`
        : `Deleted profile ${profile.index} (${profile.label}); ${after} profile${after === 1 ? "" : "s"} left.\n`
      : io.lang === "ja"
        ? "トークンを消去しました。もう一度登録できます（otp-token token activate）。\n"
        : "The token is erased: it can be registered again (otp-token token activate).\n",
  );
  return 0;
}

interface ActivateOptions {
  "service-id"?: string;
  "user-id"?: string;
  db?: string;
  "master-key-file"?: string;
  yes?: boolean;
  verbose?: boolean;
}

/** The holder's terminal: every line at most 80 columns, wrapped at a word, never inside one (issue 18, item 8). */
function eightyColumns(io: Io): Io {
  return {
    ...io,
    out: (text) =>
      io.out(
        text
          .split("\n")
          .map((line) => wrapLines(line, 80).join("\n"))
          .join("\n"),
      ),
  };
}

async function activate(token: SimToken, values: ActivateOptions, terminalIo: Io, stdin: Terminal): Promise<number> {
  const io = eightyColumns(terminalIo);
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
        io.lang === "ja"
          ? `${TERMS.activationPassword.ja}は${TERMS.passwordHint.ja}で入力してください。`
          : `the ${TERMS.activationPassword.en} (${TERMS.activationPassword.ja}) must be ${TERMS.passwordHint.en} (${TERMS.passwordHint.ja})`,
      );
    }
    // What 同意する agrees to (issue 18, item 9): short, our own wording.
    io.out(`${word(io, LOGIN.consentTerms)}\n`);
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
    if (values.verbose) terminalIo.out(`  ${Buffer.from(request).toString("hex")}\n`);
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
    if (values.verbose) terminalIo.out(`  ${Buffer.from(answer.response).toString("hex")}\n`);

    // One profile per bank service: say before 登録 that it replaces the one the token holds.
    const held = token.profiles().find((p) => p.serviceId === serviceId);
    if (held) {
      io.out(
        io.lang === "ja"
          ? `このトークンには${TERMS.serviceId.ja} ${serviceId} のプロファイル ${held.index} があります。${TERMS.register.ja}すると新しいものに置き換わります。\n`
          : `This token holds profile ${held.index} for ${TERMS.serviceId.en} ${serviceId}: ${TERMS.register.en} replaces it with the new one.\n`,
      );
    }

    // 登録: the token checks the answer (or, declined, forgets the activation).
    if (!values.yes && !isYes(await stdin.ask(`${word(io, GUIDANCE.bankAnswered)} ${word(io, TERMS.register)}? [y/N] `))) {
      token.link.activateCancel();
      throw new CliError(
        "not-registered",
        io.lang === "ja" ? "登録しませんでした。トークンは登録前の状態に戻りました。" : "not registered: the token forgot the activation",
      );
    }
    let registered: Registration;
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
    // A re-set-up: the token asks for button A to be held before the new profile replaces the old.
    if (registered.replacing) {
      io.out(`${token.render({ compact: true })}\n${describeScreen(token.screen(), io.lang)}\n`);
      io.out(io.lang === "ja" ? "ボタンAを長押ししました。\n" : "Held button A.\n");
      token.link.replaceConfirmed(() => token.hold());
    }
    const index = registered.profile;
    io.out(
      `${word(io, TERMS.register)}: ${io.lang === "ja" ? `プロファイル ${index}` : `profile ${index}`}\n${token.render({ compact: true })}\n${describeScreen(token.screen(), io.lang)}\n`,
    );
    io.out(`${word(io, GUIDANCE.registered)}\n${word(io, TERMS.countdownNote)}\n`);
    io.out(`  otp-token bank confirm --user-id ${userId} ${token.screen().code}\n`);
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * A transfer frame typed by hand: the token takes its payload as it would from the page (a clean
 * flicker of it, through its own sensors and decoder), shows it, and signs on a hold.
 */
async function transfer(token: SimToken, text: string, yes: boolean, io: Io, stdin: Terminal): Promise<number> {
  if (!stdin.isTTY && !yes) throw new UsageError("standard input is not a terminal: give --yes to hold button A without being asked");
  let payload: Uint8Array;
  try {
    payload = parseFrameText(text);
  } catch (error) {
    throw new CliError("frame", (error as Error).message);
  }
  token.press();
  const page = new FlickerPage(payload, { noise: 0, jitter: 0 }, token.board.clock.now());
  const verdict = token.scanPage((timeMs) => page.lightAt(timeMs), 2 * page.frameMs);
  if (verdict <= 0) {
    throw new CliError(
      "refused",
      verdict === STATUS_DENIED
        ? "the token cannot sign now (no profile, its clock lost, or a confirmation waiting)"
        : "the frame is not a transfer the token can show",
    );
  }
  for (const line of transferScreens(payload)) io.out(`${line}\n`);
  const sign =
    yes || isYes(await stdin.ask(io.lang === "ja" ? "ボタンAを長押しして署名しますか？ [y/N] " : "Hold button A to sign? [y/N] "));
  if (!sign) {
    token.press();
    io.out(io.lang === "ja" ? "中止しました（署名していません）\n" : "refused: nothing was signed\n");
    return 1;
  }
  token.hold();
  const screen = token.screen();
  if (screen.mode !== "transfer-code" || screen.code === null) throw new CliError("refused", "the token did not sign");
  io.out(`${io.lang === "ja" ? "取引認証番号" : "transfer code"} ${screen.code}\n`);
  token.press();
  return 0;
}
