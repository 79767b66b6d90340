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
import { bankDateTime, GUIDANCE, LOGIN, mailFilterNote, TERMS } from "../terms.js";
import { LinkError } from "../token/link.js";
import { SimToken } from "../token/sim-token.js";
import { describeScreen, wrapLines } from "./sim.js";
import { type Io, parse, word } from "../usage.js";

export const DEMO_HELP = `Usage: otp-token demo [options]

Runs the whole one-time-password re-set-up procedure with a simulated token and bank, in the words
of the bank's manual: ① the login (ログインID and ログインパスワード) -> ② トークン発行 (mail
address and 利用開始パスワード, each twice) -> ③ Service ID and User ID -> on the token, 同意する,
送信 and 登録 (a deliberately mistyped password first: the token refuses the bank's answer at 登録
and says how many attempts are left; the seed is agreed by CPace, never sent) -> the token's code
with its 60-second countdown -> ⑦ 認証確認 -> ⑧ the login screen, where the login now takes the
one-time password too. Then the re-set-up on the same token: ② again (the next User ID, ...A002),
登録 replacing the token's profile for the Service ID on a hold of button A, 認証確認, and the login
with the first code a press shows, the old User ID's code refused.
Japanese when the locale is (LANG=ja_JP.UTF-8). Fits an 80-column terminal.

Options:
  --quiet        print the bank screens and codes, not the token's panel
  -h, --help     this help
`;

const WIDTH = 66;

/** Pads to `width` terminal columns (Japanese characters are two wide). */
const pad = (text: string, width: number) => text + " ".repeat(Math.max(0, width - stringWidth(text)));

/** A bank screen framed `WIDTH` + 2 columns wide; a line too long for it wraps at a word (never over the border). */
export function box(title: string, lines: string[]): string {
  const top = `┌─ ${title} ${"─".repeat(Math.max(0, WIDTH - stringWidth(title) - 3))}┐`;
  const body = lines.flatMap((line) => wrapLines(line, WIDTH - 2)).map((line) => `│ ${pad(line, WIDTH - 1)}│`);
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
      io.out(`\n${wrapLines(title, 78).join("\n")}\n`);
      if (!values.quiet) io.out(`${token.render({ compact: true })}\n`);
      io.out(`${wrapLines(`${ja ? "トークン" : "token"}: ${describeScreen(token.screen(), io.lang)}`, 78).join("\n")}\n`);
    };
    const say = (text: string) => io.out(`${wrapLines(text, 78).join("\n")}\n`);
    const now = () => bankDateTime(clock.now() / 1000);
    const sendingDomain = bank.mailDomain;
    const field = (label: string, value: string) => `${pad(label, 30)}[ ${pad(value, 24)}]`;
    /** Every bank screen as the manual prints it: the bank's name line, the date and time, 文字サイズ. */
    const screen = (title: string, lines: string[]) =>
      box(`${ja ? "インターネットバンキング" : "Internet banking"}: ${title}`, [
        w(LOGIN.bankName),
        `${now()}   ${w(TERMS.textSize)} ${w(TERMS.textSmall)} ${w(TERMS.textMedium)} ${w(TERMS.textLarge)}`,
        "",
        ...lines,
      ]);
    const loginScreen = (lead: string[], withCode: boolean) =>
      screen(w(LOGIN.login), [
        ...lead,
        field(w(LOGIN.loginId), loginId),
        field(w(LOGIN.loginPassword), "*".repeat(loginPassword.length)),
        ...(withCode ? [field(w(TERMS.oneTimePassword), "")] : [w(LOGIN.codeWhenSetUp)]),
        `${" ".repeat(46)}[ ${w(LOGIN.login)} ]`,
      ]);

    say(
      `otp-token demo: ${ja ? "ワンタイムパスワード再設定（トークンと銀行はシミュレーション）" : "one-time-password re-set-up, simulated token and bank"} (${now()})\n`,
    );
    // The customer the bank knows, with an internet-banking login (otp-token bank customer create).
    const loginId = "yamada01";
    const loginPassword = "Demo-pass-2024";
    await bank.createCustomer({ loginId, password: loginPassword, passwordConfirm: loginPassword });
    say(
      ja
        ? `【①】インターネットバンキングへログイン（${LOGIN.loginId.ja} ${loginId}）`
        : `① Log in to internet banking (login ID ${loginId})`,
    );
    io.out(`${loginScreen([], false)}\n`);
    let session = await bank.login({ loginId, password: loginPassword });
    say(ja ? `ログインしました（お客様番号 ${session.customerNumber}）。` : `Logged in (customer number ${session.customerNumber}).`);

    const mail = "taro.yamada@example.jp";
    const password = "Pass1234";
    const issueScreen = () =>
      screen(w(TERMS.issueTitle), [
        w(TERMS.securityNotice),
        "",
        w(TERMS.issueInstruction),
        w(mailFilterNote(sendingDomain)),
        w(TERMS.mailTwice),
        field(`${w(TERMS.mobileMail)} ${w(TERMS.input)}`, mail),
        field(`${w(TERMS.mobileMail)} ${w(TERMS.reenter)}`, mail),
        `  ${w(TERMS.mailHint)}`,
        w(TERMS.passwordTwice),
        field(`${w(TERMS.activationPassword)} ${w(TERMS.input)}`, "********"),
        field(`${w(TERMS.activationPassword)} ${w(TERMS.reenter)}`, "********"),
        `  ${w(TERMS.passwordHint)}`,
        `${" ".repeat(44)}[ ${w(TERMS.tokenIssue)} ]`,
      ]);
    const confirmScreen = (issued: { mail: string; serviceId: string; userId: string }) =>
      screen(w(TERMS.confirmScreen), [
        w(TERMS.confirmInstruction),
        w(TERMS.destinationMail),
        `  ${w(TERMS.mobileMail)} ${issued.mail}`,
        w(TERMS.tokenInformation),
        `  ${pad(w(TERMS.serviceId), 12)} ${issued.serviceId}`,
        `  ${pad(w(TERMS.userId), 12)} ${issued.userId}`,
        w(GUIDANCE.mailSent),
        w(TERMS.setupNeeds),
        w(TERMS.setupAndGenerate),
        w(TERMS.noMail),
        `${w(TERMS.oneTimePassword)}  [        ]     [ ${w(TERMS.confirmButton)} ]  [ ${w(TERMS.back)} ]`,
      ]);
    say(ja ? "\n【②】トークン発行" : "\n② Issue token");
    io.out(`${issueScreen()}\n`);
    const issued = await bank.issue({ mail, mailConfirm: mail, password, passwordConfirm: password, ticket: session.ticket });
    say(ja ? "\n【③】以下の画面が表示されます。" : "\n③ The bank shows:");
    io.out(`${confirmScreen(issued)}\n`);
    const setupMail = issued.mailId === undefined ? undefined : readOutboxMail(outbox, issued.mailId);
    if (setupMail) {
      const text = `To: ${setupMail.to}\nSubject: ${setupMail.subject}\n\n${setupMail.text.trimEnd()}`;
      io.out(
        `\n${ja ? "銀行が送ったメール（送信箱より）" : "The set-up mail, as written to the bank's outbox (body decoded)"}:\n${text
          .split(/\r?\n/)
          .flatMap((line) => wrapLines(line, 74))
          .map((line) => `  | ${line}`)
          .join("\n")}\n`,
      );
    }

    const registration = (typed: string, ids: { serviceId: string; userId: string } = issued) =>
      box(ja ? "トークン登録" : "Token registration", [
        w(GUIDANCE.tokenSetup),
        field(w(TERMS.serviceId), ids.serviceId),
        field(w(TERMS.userId), ids.userId),
        field(w(TERMS.activationPassword), "*".repeat(typed.length)),
        w(LOGIN.consentTerms),
        `[x] ${w(TERMS.agree)}`,
        `${" ".repeat(36)}[ ${w(TERMS.send)} ]  [ ${w(TERMS.register)} ]`,
      ]);

    // A mistyped password first. The bank cannot tell (CPace): it answers, counting the attempt; the
    // token refuses the answer at 登録, says the attempts left, and leaves its activating screen.
    const mistyped = "Pass1235";
    say(
      ja
        ? `\n【⑤】トークンに入力します。まず、わざと利用開始パスワードを1文字間違えて（${mistyped}）送信します。`
        : `\n⑤ On the token. First, on purpose, a mistyped activation password (${mistyped}):`,
    );
    io.out(`${registration(mistyped)}\n`);
    const refused = token.link.activateBegin(issued.serviceId, issued.userId, mistyped);
    io.out(
      `${w(TERMS.send)}: ${ja ? `登録要求 ${refused.length} バイトを銀行へ` : `the activation request (${refused.length} bytes) to the bank`}\n`,
    );
    const refusedAnswer = await bank.activate(refused);
    say(
      ja
        ? `銀行の応答: ${refusedAnswer.response.length} バイト。${GUIDANCE.bankAnswered.ja}`
        : `The bank's answer: ${refusedAnswer.response.length} bytes. ${GUIDANCE.bankAnswered.en}`,
    );
    try {
      token.link.activateFinish(refusedAnswer.response);
      throw new Error("the token took the answer to a mistyped password");
    } catch (error) {
      if (!(error instanceof LinkError)) throw error;
      token.link.activateCancel();
      say(`${w(TERMS.register)}: ${w(registerRefusalWords(refusedAnswer.attemptsLeft, token.info().activationLocked))} [wrong-password]`);
      panel(ja ? "トークン：登録は取り消され、元の表示に戻ります" : "Token: the activation is cancelled; it is back where it was");
    }

    say(ja ? "\n正しい利用開始パスワードで、もう一度。" : "\nAgain, with the right activation password:");
    io.out(`${registration(password)}\n`);
    const request = token.link.activateBegin(issued.serviceId, issued.userId, password);
    panel(
      `${w(TERMS.send)}: ${ja ? `登録要求 ${request.length} バイトを銀行へ` : `the activation request (${request.length} bytes) goes to the bank`}`,
    );
    const answer = await bank.activate(request);
    say(
      ja
        ? `銀行の応答: ${answer.response.length} バイト。${GUIDANCE.bankAnswered.ja}`
        : `The bank's answer: ${answer.response.length} bytes. ${GUIDANCE.bankAnswered.en}`,
    );
    const { profile, confirmation, replacing } = token.link.activateFinish(answer.response);
    await bank.register(confirmation);
    // The demo's token is new, so nothing is replaced; a token that held this Service ID would ask for the hold.
    if (replacing) token.link.replaceConfirmed(() => token.hold());
    panel(
      `${w(TERMS.register)}: ${ja ? `プロファイル ${profile}。確認 ${confirmation.length} バイトを銀行へ。ワンタイムパスワードと60秒のカウントダウン（左下）` : `profile ${profile}; its confirmation (${confirmation.length} bytes) goes to the bank. The code and its 60-second countdown (bottom left)`}`,
    );
    say(w(TERMS.countdownNote));
    const firstCode = token.screen().code!;

    token.advance(7_000);
    panel(
      ja
        ? "7秒後（カウントダウンが進み、パスワードは“0”まで変わりません）"
        : "Seven seconds later (the countdown runs; the code stays until it reaches 0):",
    );

    say(
      `\n${ja ? `【⑦】${token.screen().code} を【③】画面の${TERMS.oneTimePassword.ja}に入力し「${TERMS.confirmButton.ja}」を押します。` : `⑦ The holder types ${token.screen().code} into the confirmation screen and presses "${TERMS.confirmButton.en}".`}`,
    );
    const confirmed = await bank.confirm(issued.userId, token.screen().code!);
    say(
      ja
        ? `\n【⑧】ログイン画面が表示されます（トークン ${token.info().serial} が有効になりました。時計のずれ ${confirmed.driftSteps} ステップ）。`
        : `\n⑧ The login screen (token serial ${token.info().serial} is active; clock drift ${confirmed.driftSteps} steps).`,
    );
    io.out(
      `${loginScreen([`${ja ? "ワンタイムパスワードの設定が完了しました。" : "One-time password set-up is complete."} ${w(TERMS.setupDone)}`], true)}\n`,
    );

    // From now on the login takes the token's code too: two minutes on, a press shows a new one.
    token.advance(120_000);
    token.press();
    panel(ja ? `2分後（${now()}）、ボタンAを押すと:` : `Two minutes later (${now()}), a press on the token:`);
    const loginCode = token.screen().code!;
    session = await bank.login({ loginId, password: loginPassword, code: loginCode });
    say(
      ja
        ? `${LOGIN.loginId.ja}・${LOGIN.loginPassword.ja}・ワンタイムパスワード ${loginCode} でログインしました（${TERMS.userId.ja} ${session.userId}）。最初のパスワード ${firstCode} とそれ以前のものは使えません：パスワードは一度しか使えません。`
        : `Logged in with login ID, login password and one-time password ${loginCode} (User ID ${session.userId}). The first code ${firstCode} and every earlier step are now refused: each code is accepted once.`,
    );
    try {
      await bank.verify(issued.userId, loginCode);
    } catch (error) {
      if (!(error instanceof BankError)) throw error;
      const words = refusalWords(error, "login");
      say(`${ja ? `${loginCode} をもう一度` : `Trying ${loginCode} again`}: ${words ? w(words) : error.message} [${error.code}]`);
    }

    // The re-set-up, as the manual describes it: logged in, トークン発行 again, the same token.
    token.advance(60_000);
    say(ja ? "\n再設定：ログインしたまま、もう一度【②】トークン発行を行います。" : "\nThe re-set-up: logged in, ② Issue token again.");
    const again = await bank.issue({ mail, mailConfirm: mail, password, passwordConfirm: password, ticket: session.ticket });
    io.out(`${confirmScreen(again)}\n`);
    io.out(`${registration(password, again)}\n`);
    const request2 = token.link.activateBegin(again.serviceId, again.userId, password);
    const answer2 = await bank.activate(request2);
    const finished = token.link.activateFinish(answer2.response);
    await bank.register(finished.confirmation);
    if (finished.replacing) {
      say(
        ja
          ? `このトークンには同じ${TERMS.serviceId.ja}のプロファイルがあります。ボタンAを長押しすると、新しいものに置き換わります。`
          : `The token holds a profile for this ${TERMS.serviceId.en}: a hold of button A replaces it with the new one.`,
      );
      token.link.replaceConfirmed(() => token.hold());
    }
    panel(ja ? "長押しの後（プロファイルは一つのまま）:" : "After the hold (still one profile for the service):");
    await bank.confirm(again.userId, token.screen().code!);
    io.out(`${loginScreen([w(TERMS.setupDone)], true)}\n`);
    token.advance(60_000);
    token.press();
    const newCode = token.screen().code!;
    session = await bank.login({ loginId, password: loginPassword, code: newCode });
    say(
      ja
        ? `ボタンAを1回押して表示された ${newCode} でログインしました（${TERMS.userId.ja} ${session.userId}）。トークンのプロファイル数: ${token.profiles().length}。`
        : `Logged in with ${newCode}, the code a single press showed (User ID ${session.userId}). Profiles on the token: ${token.profiles().length}.`,
    );
    try {
      await bank.verify(issued.userId, newCode);
    } catch (error) {
      if (!(error instanceof BankError)) throw error;
      say(
        `${ja ? `古い${TERMS.userId.ja} ${issued.userId} では` : `The old User ID ${issued.userId}`}: ${w(refusalWords(error, "login") ?? { ja: error.ja ?? error.message, en: error.message })} [${error.code}]`,
      );
    }
    return 0;
  } finally {
    await store.close();
    rmSync(outbox, { recursive: true, force: true });
  }
}
