// The bank's words: host/terms.ts against a table of the manual's terms (copied from the credit
// union's "ワンタイムパスワード再設定手順書", the procedure this project implements), and every front
// end's wording against that table: the page's strings, the CLI help and output, the simulator's
// form. Words the manual does not use for these things (アクティベーションパスワード, ユーザーID, a
// 確認 button) appear in no front end.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderForm, newForm } from "../host/cli/sim.js";
import { TOKEN_HELP } from "../host/cli/token.js";
import { attemptsPendingText, attemptsText, bankDateTime, mailFilterNote, TERMS } from "../host/terms.js";
import {
  issueAttempts,
  issueIsVoid,
  refusalWords,
  registerRefusalWords,
  tokenActivationLockedWords,
  wrongPasswordAtRegister,
} from "../host/refusals.js";

/** The manual's words, exactly as it prints them. */
const MANUAL: Record<keyof typeof TERMS, string> = {
  activationPassword: "利用開始パスワード",
  mobileMail: "携帯電話メールアドレス",
  tokenIssue: "トークン発行",
  confirmScreen: "ワンタイムパスワード認証確認",
  confirmButton: "認証確認",
  back: "戻る",
  destinationMail: "送信先メールアドレス",
  tokenInformation: "トークン情報",
  serviceId: "サービスID",
  userId: "ユーザID",
  oneTimePassword: "ワンタイムパスワード",
  agree: "同意する",
  send: "送信",
  register: "登録",
  input: "入力",
  reenter: "再入力",
  mailHint: "半角英数字記号4文字以上64文字以内",
  passwordHint: "半角英数字4桁以上8桁以内",
  mailTwice: "※携帯電話メールアドレスを2回入力してください。",
  passwordTwice: "※利用開始パスワードを2回入力してください。",
  textSize: "文字サイズ",
  textSmall: "小",
  textMedium: "中",
  textLarge: "大",
  issueInstruction: "携帯電話メールアドレスと利用開始パスワードを入力の上、「トークン発行」ボタンを押してください。",
  confirmInstruction: "ワンタイムパスワードを入力の上、「認証確認」ボタンを押してください。",
  setupNeeds: "設定の際には、画面上に表示しているサービスIDとユーザID、及び利用開始パスワードが必要となります。",
  noMail: "携帯電話メールアドレスを間違えていた等でメールが届かない場合には、「戻る」ボタンを押して、再度トークン発行を行ってください。",
  countdownNote:
    "※パスワード左下にあるタイマーは60秒のカウントダウンとなっており、“0”になるとパスワードが自動変更されますので時間内に入力してください。",
};

/** Spellings the manual does not use for its terms. */
const NOT_THE_MANUALS = ["アクティベーションパスワード", "ユーザーID", "利用規約に同意する", "「確認」", ">確認<"];

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
const sources = (folder: string) =>
  readdirSync(new URL(`../${folder}`, import.meta.url))
    .filter((name) => /\.(ts|html)$/.test(name))
    .map((name) => [join(folder, name), read(join(folder, name))] as const);

describe("the bank's words", () => {
  it.each(Object.entries(MANUAL))("%s is the manual's 「%s」", (key, manual) => {
    expect(TERMS[key as keyof typeof TERMS].ja).toBe(manual);
    expect(TERMS[key as keyof typeof TERMS].en.length).toBeGreaterThan(0);
  });

  it("the table covers every term", () => {
    expect(Object.keys(MANUAL).sort()).toEqual(Object.keys(TERMS).sort());
  });

  it("prints the screen's date and time in Japan time, as the manual does", () => {
    // The manual's issue screen shows "2021年05月20日 17時27分40秒": 08:27:40 UTC.
    expect(bankDateTime(Date.UTC(2021, 4, 20, 8, 27, 40) / 1000)).toBe("2021年05月20日 17時27分40秒");
    // Past midnight in Japan while still the previous day in UTC.
    expect(bankDateTime(Date.UTC(2021, 11, 31, 15, 0, 0) / 1000)).toBe("2022年01月01日 00時00分00秒");
  });

  it("names the bank's sending domain in the mail-filter note", () => {
    expect(mailFilterNote("otp-auth.net").ja).toBe(
      "送信メールフィルタ等で送信メール対策をしている方は、「otp-auth.net」を解除設定してご利用ください。",
    );
    expect(mailFilterNote(undefined).ja).toMatch(/^送信メールフィルタ等で送信メール対策をしている方は、/);
  });

  it("says the attempts left (「あと N 回」) and, at the end, that the issue is void and a new トークン発行 is needed", () => {
    expect(attemptsText("password", 4).ja).toBe("利用開始パスワードが違います。あと 4 回間違えると、このトークン発行は無効になります。");
    expect(attemptsText("code", 1).en).toBe("Wrong one-time password. 1 attempt left before this token issue is void.");
    expect(attemptsText("password", 0).ja).toBe(
      "利用開始パスワードが違います。このトークン発行は無効になりました。もう一度「トークン発行」からやり直してください。",
    );
    // What a relay says after 送信 (the bank counted the attempt; the token decides at 登録).
    expect(attemptsPendingText(2).ja).toContain("あと 2 回間違えると、このトークン発行は無効になります");
    expect(attemptsPendingText(0).ja).toContain("最後の1回");
    expect(attemptsPendingText(0).en).toMatch(/last attempt.*becomes void/);
    // From the bank's answer: its fields when it carries them, else its message (today's bank).
    expect(issueAttempts({ code: "wrong-password", message: "x", attemptsLeft: 2 })).toEqual({ attemptsLeft: 2, void: false });
    expect(
      issueAttempts({ code: "wrong-password", message: "wrong activation password (3 attempts left before this issue is void)" }),
    ).toEqual({ attemptsLeft: 3, void: false });
    expect(
      issueAttempts({ code: "wrong-code", message: "wrong code; too many wrong attempts: this issue is now void, issue a new token" }),
    ).toEqual({ attemptsLeft: 0, void: true });
    expect(refusalWords({ code: "locked", message: "this token issue is void (...)" }, "register")!.ja).toContain(
      "もう一度「トークン発行」",
    );
    expect(refusalWords({ code: "locked", message: "this token is locked", reason: "token-locked" }, "login")!.ja).toContain("ロック");
    expect(
      refusalWords({ code: "wrong-code", message: "wrong code: type the code the token shows now (2 attempts left)" }, "confirm")!.ja,
    ).toContain("あと 2 回");
  });

  it("with CPace a wrong 利用開始パスワード shows at 登録: worded with the attempts the bank gave with its answer, the token's own lock too", () => {
    expect(registerRefusalWords(3).ja).toBe("利用開始パスワードが違います。あと 3 回間違えると、このトークン発行は無効になります。");
    expect(registerRefusalWords(3).en).toBe("Wrong activation password. 3 attempts left before this token issue is void.");
    expect(registerRefusalWords(0).ja).toBe(
      "利用開始パスワードが違います。このトークン発行は無効になりました。もう一度「トークン発行」からやり直してください。",
    );
    expect(issueIsVoid(wrongPasswordAtRegister(0), "register")).toBe(true);
    expect(issueIsVoid(wrongPasswordAtRegister(1), "register")).toBe(false);
    const locked = registerRefusalWords(2, true);
    expect(locked.ja).toBe(
      "利用開始パスワードが違います。あと 2 回間違えると、このトークン発行は無効になります。トークンは登録の失敗が多すぎたため、登録できなくなりました。トークンを消去してからやり直してください。実際のトークンの場合は、お取引店またはヘルプデスクにお問い合わせください。",
    );
    expect(locked.en).toMatch(/2 attempts left before this token issue is void\. The token now refuses to register .*erase the token/);
    expect(tokenActivationLockedWords().ja).toContain("トークンを消去");
    // The bank's refusal of the token's confirmation (message 3), in both languages.
    const wrongConfirmation = refusalWords({ code: "wrong-confirmation", message: "x" }, "register")!;
    expect(wrongConfirmation.ja).toContain("もう一度「送信」");
    expect(wrongConfirmation.en).toContain('"Send"');
  });

  it("the page's table takes the manual's terms from host/terms.ts, and no front end uses other spellings", () => {
    const i18n = read("web/i18n.ts");
    // Its own literals repeat none of the manual's longer terms (the product's title names the one-time password).
    for (const manual of Object.values(MANUAL).filter((term) => term.length >= 6 && term !== MANUAL.oneTimePassword))
      expect(i18n, manual).not.toContain(manual);
    for (const [path, text] of [...sources("web"), ...sources("host/cli")]) {
      for (const wrong of NOT_THE_MANUALS) expect(text.includes(wrong), `${path} contains ${wrong}`).toBe(false);
    }
    const page = read("web/index.html");
    for (const key of [
      "reg.consent",
      "reg.send",
      "reg.register",
      "confirm.submit",
      "confirm.back",
      "size.small",
      "size.medium",
      "size.large",
    ]) {
      expect(page).toContain(`data-i18n="${key}"`);
    }
  });

  it("the CLI and the simulator's form use the manual's terms", () => {
    const form = renderForm(newForm(), "ja");
    for (const term of [MANUAL.serviceId, MANUAL.userId, MANUAL.activationPassword, MANUAL.agree, MANUAL.send])
      expect(form).toContain(term);
    for (const term of [MANUAL.activationPassword, MANUAL.agree, MANUAL.send, MANUAL.register, MANUAL.confirmScreen])
      expect(TOKEN_HELP.activate).toContain(term);
  });
});
