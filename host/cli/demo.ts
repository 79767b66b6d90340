// otp-token demo: the whole one-time-password re-set-up procedure in one run, a simulated token
// and a bank on accelerated virtual time, each bank screen printed as text beside what the token
// shows, in the words of the bank's manual (host/terms.ts; Japanese when the locale is). The
// newcomer's first look (docs/design.md, the procedure).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import stringWidth from "string-width";
import { Bank } from "../bank/bank.js";
import { MasterKey } from "../bank/crypto.js";
import { BankError } from "../bank/errors.js";
import { readOutboxMail } from "../bank/mail.js";
import { openStore } from "../bank/open-store.js";
import { refusalWords, registerRefusalWords } from "../refusals.js";
import { bankDateTime, GUIDANCE, mailFilterNote, TERMS } from "../terms.js";
import { LinkError } from "../token/link.js";
import { SimToken } from "../token/sim-token.js";
import { describeScreen, wrapLines } from "./sim.js";
import { type Io, parse, word } from "../usage.js";

export const DEMO_HELP = `Usage: otp-token demo [options]

Runs the whole one-time-password re-set-up procedure with a simulated token and bank, in the words
of the bank's manual: トークン発行 (mail address and 利用開始パスワード, each twice) -> Service ID and
User ID -> on the token, 同意する, 送信 and 登録 (a mistyped password first: the token refuses the
bank's answer at 登録 and says how many attempts are left; the seed is agreed by CPace, never sent,
and the token's confirmation goes back to the bank) -> the token's code with its 60-second
countdown (59 .. 0) -> 認証確認 -> the login screen -> a later login with a new code.
Japanese when the locale is (LANG=ja_JP.UTF-8).

Options:
  --quiet        print the bank screens and codes, not the token's panel
  -h, --help     this help
`;

const WIDTH = 66;

/** Pads to `width` terminal columns (Japanese characters are two wide). */
const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - stringWidth(text)));

function box(title: string, lines: string[]): string {
  const top = `┌─ ${title} ${"─".repeat(Math.max(0, WIDTH - stringWidth(title) - 3))}┐`;
  const body = lines.map((line) => `│ ${pad(line, WIDTH - 1)}│`);
  return [top, ...body, `└${"─".repeat(WIDTH)}┘`].join("\n");
}

export async function demoCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse(args, { quiet: { type: "boolean" }, help: { type: "boolean", short: "h" } }, false);
  if (values.help) {
    io.out(DEMO_HELP);
    return 0;
  }
  // English terms start a line or a label: capitalised.
  const w = (term: { ja: string; en: string }) => word(io, term).replace(/^[a-z]/, (c) => c.toUpperCase());
  const ja = io.lang === "ja";
  const outbox = mkdtempSync(join(tmpdir(), "otp-token-demo-"));
  const store = await openStore(":memory:", { create: true });
  try {
    const token = new SimToken();
    const clock = token.board.clock;
    const bank = await Bank.open(store, MasterKey.fromBytes(randomBytes(32)), {
      now: () => clock.now() / 1000,
      outboxDir: outbox,
      actor: "demo",
    });
    const panel = (title: string) => {
      io.out(`\n${title}\n`);
      if (!values.quiet) io.out(`${token.render()}\n`);
      io.out(`${ja ? "トークン" : "token"}: ${describeScreen(token.screen(), io.lang)}\n`);
    };
    const now = () => bankDateTime(clock.now() / 1000);
    const sendingDomain = bank.mailDomain;
    const field = (label: string, value: string) => `${pad(label, 30)}[ ${pad(value, 24)}]`;

    io.out(
      `otp-token demo: ${ja ? "ワンタイムパスワード再設定（トークンと銀行はシミュレーション）" : "one-time-password re-set-up, simulated token and bank"} (${now()})\n\n`,
    );
    const mail = "taro.yamada@example.jp";
    io.out(
      `${box(`${ja ? "インターネットバンキング" : "Internet banking"}: ${w(TERMS.tokenIssue)}`, [
        `${now()}   ${w(TERMS.textSize)} ${w(TERMS.textSmall)} ${w(TERMS.textMedium)} ${w(TERMS.textLarge)}`,
        ...wrapLines(w(TERMS.issueInstruction), WIDTH - 2),
        ...wrapLines(w(mailFilterNote(sendingDomain)), WIDTH - 2),
        w(TERMS.mailTwice),
        field(`${w(TERMS.mobileMail)} ${w(TERMS.input)}`, mail),
        field(`${w(TERMS.mobileMail)} ${w(TERMS.reenter)}`, mail),
        `  ${w(TERMS.mailHint)}`,
        w(TERMS.passwordTwice),
        field(`${w(TERMS.activationPassword)} ${w(TERMS.input)}`, "********"),
        field(`${w(TERMS.activationPassword)} ${w(TERMS.reenter)}`, "********"),
        `  ${w(TERMS.passwordHint)}`,
        `${" ".repeat(44)}[ ${w(TERMS.tokenIssue)} ]`,
      ])}\n`,
    );
    const password = "Pass1234";
    const issued = await bank.issue({ mail, mailConfirm: mail, password, passwordConfirm: password });
    io.out(
      `\n${box(`${ja ? "インターネットバンキング" : "Internet banking"}: ${w(TERMS.confirmScreen)}`, [
        now(),
        ...wrapLines(w(TERMS.confirmInstruction), WIDTH - 2),
        `${w(TERMS.destinationMail)}`,
        `  ${w(TERMS.mobileMail)} ${issued.mail}`,
        `${w(TERMS.tokenInformation)}`,
        `  ${pad(w(TERMS.serviceId), 12)} ${issued.serviceId}`,
        `  ${pad(w(TERMS.userId), 12)} ${issued.userId}`,
        ...wrapLines(w(GUIDANCE.mailSent), WIDTH - 2),
        ...wrapLines(w(TERMS.setupNeeds), WIDTH - 2),
        ...wrapLines(w(TERMS.noMail), WIDTH - 2),
        `${w(TERMS.oneTimePassword)}  [        ]     [ ${w(TERMS.confirmButton)} ]  [ ${w(TERMS.back)} ]`,
      ])}\n`,
    );
    const setupMail = issued.mailId === undefined ? undefined : readOutboxMail(outbox, issued.mailId);
    if (setupMail) {
      const text = `To: ${setupMail.to}\nSubject: ${setupMail.subject}\n\n${setupMail.text.trimEnd()}`;
      io.out(
        `\n${ja ? "銀行が送ったメール（送信箱より）" : "The set-up mail, as written to the bank's outbox (body decoded)"}:\n${text
          .split(/\r?\n/)
          .map((line) => `  | ${line}`)
          .join("\n")}\n`,
      );
    }

    const registration = (typed: string) =>
      box(ja ? "トークン登録" : "Token registration", [
        ...wrapLines(w(GUIDANCE.tokenSetup), WIDTH - 2),
        field(w(TERMS.serviceId), issued.serviceId),
        field(w(TERMS.userId), issued.userId),
        field(w(TERMS.activationPassword), "*".repeat(typed.length)),
        `[x] ${w(TERMS.agree)}`,
        `${" ".repeat(36)}[ ${w(TERMS.send)} ]  [ ${w(TERMS.register)} ]`,
      ]);

    // A mistyped password first. The bank cannot tell (CPace): it answers, counting the attempt; the
    // token refuses the answer at 登録, says the attempts left, and leaves its activating screen.
    const mistyped = "Pass1235";
    io.out(`\n${registration(mistyped)}\n`);
    const refused = token.link.activateBegin(issued.serviceId, issued.userId, mistyped);
    io.out(
      `${w(TERMS.send)}: ${ja ? `登録要求 ${refused.length} バイトを銀行へ` : `the activation request (${refused.length} bytes) to the bank`}\n`,
    );
    const refusedAnswer = await bank.activate(refused);
    io.out(
      `${ja ? "銀行の応答" : "The bank's answer"}: ${ja ? `${refusedAnswer.response.length} バイト` : `${refusedAnswer.response.length} bytes`}. ${w(GUIDANCE.bankAnswered)}\n`,
    );
    try {
      token.link.activateFinish(refusedAnswer.response);
      throw new Error("the token took the answer to a mistyped password");
    } catch (error) {
      if (!(error instanceof LinkError)) throw error;
      token.link.activateCancel();
      io.out(
        `${w(TERMS.register)}: ${w(registerRefusalWords(refusedAnswer.attemptsLeft, token.info().activationLocked))} [wrong-password]\n`,
      );
      panel(ja ? "トークン：登録は取り消され、元の表示に戻ります" : "Token: the activation is cancelled; it is back where it was");
    }

    io.out(`\n${registration(password)}\n`);
    const request = token.link.activateBegin(issued.serviceId, issued.userId, password);
    panel(
      `${w(TERMS.send)}: ${ja ? `登録要求 ${request.length} バイトを銀行へ` : `the activation request (${request.length} bytes) goes to the bank`}`,
    );
    const answer = await bank.activate(request);
    io.out(
      `${ja ? "銀行の応答" : "The bank's answer"}: ${ja ? `${answer.response.length} バイト` : `${answer.response.length} bytes`}. ${w(GUIDANCE.bankAnswered)}\n`,
    );
    const { profile, confirmation, replacing } = token.link.activateFinish(answer.response);
    await bank.register(confirmation);
    // The demo's token is new, so nothing is replaced; a token that held this Service ID would ask for the hold.
    if (replacing) token.link.replaceConfirmed(() => token.hold());
    panel(
      `${w(TERMS.register)}: ${ja ? `プロファイル ${profile}。確認 ${confirmation.length} バイトを銀行へ。ワンタイムパスワードと60秒のカウントダウン（左下）` : `profile ${profile}; its confirmation (${confirmation.length} bytes) goes to the bank. The code and its 60-second countdown (bottom left)`}`,
    );
    io.out(`${w(TERMS.countdownNote)}\n`);
    const firstCode = token.screen().code!;

    token.advance(7_000);
    panel(
      ja
        ? "7秒後（カウントダウンが進み、パスワードは“0”まで変わりません）"
        : "Seven seconds later (the countdown runs; the code stays until it reaches 0):",
    );

    io.out(
      `\n${ja ? `${token.screen().code} を「${TERMS.confirmScreen.ja}」画面に入力し「${TERMS.confirmButton.ja}」を押します。` : `The holder types ${token.screen().code} into the confirmation screen and presses "${TERMS.confirmButton.en}".`}\n`,
    );
    const confirmed = await bank.confirm(issued.userId, token.screen().code!);
    io.out(
      `${box(`${ja ? "インターネットバンキング" : "Internet banking"}: ${ja ? "ログイン" : "log in"}`, [
        ja ? "ワンタイムパスワードの設定が完了しました。" : "One-time password set-up is complete.",
        ja
          ? `トークン ${token.info().serial} が有効になりました（時計のずれ ${confirmed.driftSteps} ステップ）。`
          : `Token serial ${token.info().serial} is active (clock drift ${confirmed.driftSteps} steps).`,
        `${w(TERMS.userId)}  [                  ]   ${w(TERMS.oneTimePassword)} [          ]`,
        `${" ".repeat(48)}[ ${ja ? "ログイン" : "Log in"} ]`,
      ])}\n`,
    );

    // A later login: two minutes on, the token shows a new code.
    token.advance(120_000);
    token.press();
    panel(ja ? `2分後（${now()}）、ボタンAを押すと:` : `Two minutes later (${now()}), a press on the token:`);
    const loginCode = token.screen().code!;
    const login = await bank.verify(issued.userId, loginCode);
    io.out(
      `\n${box(ja ? "インターネットバンキング: ようこそ" : "Internet banking: welcome", [
        ja
          ? `ワンタイムパスワード ${loginCode} でログインしました（ステップのずれ ${login.offset}）。`
          : `Logged in with one-time password ${loginCode} (step offset ${login.offset}).`,
        ja
          ? `最初のパスワード ${firstCode} とそれ以前のものは使えません：`
          : `The first code ${firstCode} and every earlier step are now refused:`,
        ja ? "パスワードは一度しか使えません。" : "each code is accepted once.",
      ])}\n`,
    );
    try {
      await bank.verify(issued.userId, loginCode);
    } catch (error) {
      if (!(error instanceof BankError)) throw error;
      const words = refusalWords(error, "login");
      io.out(`${ja ? `${loginCode} をもう一度` : `Trying ${loginCode} again`}: ${words ? w(words) : error.message} [${error.code}]\n`);
    }
    return 0;
  } finally {
    await store.close();
    rmSync(outbox, { recursive: true, force: true });
  }
}
