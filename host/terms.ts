// The bank's own words for the procedure, as its customer manual prints them (the credit union's
// "one-time password re-set-up" instructions), with the English the simulator shows beside them.
// One table for every front end: the browser page, the CLIs, the terminal simulator and the set-up
// mail take their wording from here, and a test keeps the Japanese equal to the manual's.
// This file imports nothing, so the page's bundle can take it.
//
// TERMS holds the manual's words exactly (test/terms.test.ts compares each with a table copied from
// the manual). GUIDANCE holds our sentences for what the manual does not cover (a one-button token
// instead of a phone app, attempts left, a void issue), written with the manual's terms.

/** A term of the manual: the Japanese exactly as printed, and the English we show for it. */
export interface Term {
  readonly ja: string;
  readonly en: string;
}

export const TERMS = {
  /** The password the customer sets at issue and types into the token (step 2 and 5). */
  activationPassword: { ja: "利用開始パスワード", en: "activation password" },
  /** The address the set-up mail goes to. */
  mobileMail: { ja: "携帯電話メールアドレス", en: "mobile mail address" },
  /** The issue screen, and its button. */
  tokenIssue: { ja: "トークン発行", en: "Issue token" },
  /** The screen of step 3, where the first code is typed. */
  confirmScreen: { ja: "ワンタイムパスワード認証確認", en: "One-time password confirmation" },
  /** The button that sends the first code (step 7). */
  confirmButton: { ja: "認証確認", en: "Confirm" },
  /** The button that goes back to issue again when the mail never came. */
  back: { ja: "戻る", en: "Back" },
  /** Headings of the confirmation screen. */
  destinationMail: { ja: "送信先メールアドレス", en: "Mail sent to" },
  tokenInformation: { ja: "トークン情報", en: "Token information" },
  serviceId: { ja: "サービスID", en: "Service ID" },
  userId: { ja: "ユーザID", en: "User ID" },
  oneTimePassword: { ja: "ワンタイムパスワード", en: "One-time password" },
  /** The token's registration form (steps 5 and 6). */
  agree: { ja: "同意する", en: "I agree" },
  send: { ja: "送信", en: "Send" },
  register: { ja: "登録", en: "Register" },
  /** The two boxes of each field typed twice. */
  input: { ja: "入力", en: "Enter" },
  reenter: { ja: "再入力", en: "Re-enter" },
  /** Input hints under the issue screen's boxes. */
  mailHint: { ja: "半角英数字記号4文字以上64文字以内", en: "4 to 64 half-width letters, digits and symbols" },
  passwordHint: { ja: "半角英数字4桁以上8桁以内", en: "4 to 8 half-width letters and digits" },
  mailTwice: { ja: "※携帯電話メールアドレスを2回入力してください。", en: "* Enter the mobile mail address twice." },
  passwordTwice: { ja: "※利用開始パスワードを2回入力してください。", en: "* Enter the activation password twice." },
  /** The text-size switch at the top of every bank screen. */
  textSize: { ja: "文字サイズ", en: "Text size" },
  textSmall: { ja: "小", en: "S" },
  textMedium: { ja: "中", en: "M" },
  textLarge: { ja: "大", en: "L" },
  /** The issue screen's instruction (step 2). */
  issueInstruction: {
    ja: "携帯電話メールアドレスと利用開始パスワードを入力の上、「トークン発行」ボタンを押してください。",
    en: 'Enter the mobile mail address and the activation password, then press "Issue token".',
  },
  /** The confirmation screen's instruction (step 3). */
  confirmInstruction: {
    ja: "ワンタイムパスワードを入力の上、「認証確認」ボタンを押してください。",
    en: 'Enter the one-time password, then press "Confirm".',
  },
  /** What the token set-up needs (step 3). */
  setupNeeds: {
    ja: "設定の際には、画面上に表示しているサービスIDとユーザID、及び利用開始パスワードが必要となります。",
    en: "The set-up needs the Service ID and User ID shown on this screen, and the activation password.",
  },
  /** When the mail never arrives (step 3). */
  noMail: {
    ja: "携帯電話メールアドレスを間違えていた等でメールが届かない場合には、「戻る」ボタンを押して、再度トークン発行を行ってください。",
    en: 'If the mail does not arrive (a mistyped address, for example), press "Back" and issue the token again.',
  },
  /** The note under the token's code (step 7). */
  countdownNote: {
    ja: "※パスワード左下にあるタイマーは60秒のカウントダウンとなっており、“0”になるとパスワードが自動変更されますので時間内に入力してください。",
    en: '* The timer at the password\'s lower left counts down 60 seconds; at "0" the password changes by itself, so type it in time.',
  },
  /** The issue screen's title (step 2). */
  issueTitle: { ja: "ワンタイムパスワードトークン発行", en: "One-time password token issue" },
  /** The issue screen's lead (step 2). */
  securityNotice: {
    ja: "セキュリティ向上のため、ワンタイムパスワードでの認証が追加されました。事前準備として携帯電話へのトークン発行が必要となります。",
    en: "For better security, sign-in now also asks for a one-time password. To prepare, a token must be issued to you first.",
  },
  /** The confirmation screen's set-up sentence (step 3). */
  setupAndGenerate: {
    ja: "携帯電話へのトークンダウンロードと設定を行い、ワンタイムパスワードの生成を行ってください。",
    en: "Set the token up, then have it generate a one-time password.",
  },
  /** The manual's last line (after step 8). */
  setupDone: { ja: "以上で設定は終了です。", en: "That completes the set-up." },
} as const satisfies Record<string, Term>;

/**
 * Our sentences where the manual has none (it describes a phone app; this token has one button), in
 * the manual's terms. Not compared with the manual; the terms inside them are.
 */
export const GUIDANCE = {
  /** The confirmation screen's first line: the mail names the IDs and what to do on the token. */
  mailSent: {
    ja: "ご指定の携帯電話メールアドレスへトークンの設定方法をメールで送付しました。メールをご確認の上、設定をお願いします。",
    en: "The token set-up instructions were mailed to the mobile mail address given. Please read the mail and set the token up.",
  },
  /** Step 5 on this token: what the registration form wants. */
  tokenSetup: {
    ja: "トークンにサービスID、ユーザID、利用開始パスワードを入力し、「同意する」にチェックを入れて「送信」を押してください。",
    en: 'Enter the Service ID, User ID and activation password into the token, tick "I agree" and press "Send".',
  },
  /** After 送信: the bank answered; step 6. */
  bankAnswered: {
    ja: "銀行から応答がありました。「登録」を押してください。",
    en: 'The bank answered. Press "Register".',
  },
  /** After 登録: step 7. */
  registered: {
    ja: "登録しました。トークンに表示されたワンタイムパスワードを「ワンタイムパスワード認証確認」画面に入力し、「認証確認」を押してください。",
    en: 'Registered. Type the one-time password the token shows into the "One-time password confirmation" screen and press "Confirm".',
  },
  /** The consent box was left empty. */
  consentMissing: { ja: "「同意する」にチェックを入れてください。", en: 'Tick "I agree" first.' },
  /** What the holder of a real token that refuses to register (locked) does instead of erasing it. */
  realTokenLocked: {
    ja: "実際のトークンの場合は、お取引店またはヘルプデスクにお問い合わせください。",
    en: "With a real token, ask your branch or the bank's help desk.",
  },
  /** The panel is dark (it turns off 60 s after a press). */
  panelOff: {
    ja: "表示は消えています。ボタンAを押すとワンタイムパスワードが表示されます。",
    en: "The display is off. Press button A to show the one-time password.",
  },
} as const satisfies Record<string, Term>;

/**
 * The internet-banking login (the manual's step ① and ⑧, ログイン): the manual prints no field names,
 * so these are ours, written with its word ログイン.
 */
export const LOGIN = {
  login: { ja: "ログイン", en: "Log in" },
  logout: { ja: "ログアウト", en: "Log out" },
  loginScreen: { ja: "ログイン画面", en: "Login screen" },
  loginId: { ja: "ログインID", en: "login ID" },
  loginPassword: { ja: "ログインパスワード", en: "login password" },
  loginIdHint: { ja: "半角英数字6文字以上16文字以内", en: "6 to 16 half-width letters and digits" },
  loginPasswordHint: {
    ja: "半角英数字記号8文字以上32文字以内（英字と数字を含む）",
    en: "8 to 32 half-width letters, digits and symbols, with a letter and a digit",
  },
  /** Under the one-time password box of the login screen (step ⑧). */
  codeWhenSetUp: {
    ja: "トークンを設定済みのお客様は、ワンタイムパスワードも入力してください。",
    en: "If your token is set up, type its one-time password too.",
  },
  loggedInAs: { ja: "お客様番号", en: "Customer number" },
  /** The bank's name line at the top of every bank screen (the manual prints its own credit union's). */
  bankName: { ja: "サンプル信用組合　インターネットバンキング", en: "Sample Credit Union Internet Banking" },
  /** Step ② needs step ① first. */
  loginFirst: { ja: "トークン発行の前にログインしてください。", en: "Log in before issuing a token." },
  /** The terms behind 同意する (short, our own wording). */
  consentTerms: {
    ja: "【ご利用条件】このトークンはご本人だけがお使いください。ワンタイムパスワードや利用開始パスワードを他人に教えないでください。紛失・盗難の際はすぐに銀行へご連絡ください。銀行はトークンの登録と認証確認の記録を保管します。",
    en: "[Terms] Use this token yourself only. Never tell anyone its one-time passwords or your activation password. If it is lost or stolen, tell the bank at once. The bank keeps a record of the token's registration and confirmation.",
  },
} as const satisfies Record<string, Term>;

/**
 * 振込 and its 取引認証 (issue 23, docs/transaction-signing.md): the transfer screens of the bank's page
 * and the words the front ends use for them. The manual covers no transfers; these are the words of
 * Japanese internet banking's transfer screens (振込先, 金融機関コード, 支店コード, 口座番号, 受取人名,
 * 振込金額, 取引認証, 取引認証番号).
 */
export const TRANSFER = {
  transfer: { ja: "振込", en: "Transfer" },
  payeeTitle: { ja: "振込（振込先・金額の入力）", en: "Transfer: payee and amount" },
  payee: { ja: "振込先", en: "Payee" },
  bankCode: { ja: "金融機関コード（4桁）", en: "Bank code (4 digits)" },
  branch: { ja: "支店コード（3桁）", en: "Branch code (3 digits)" },
  account: { ja: "口座番号（7桁）", en: "Account number (7 digits)" },
  name: { ja: "受取人名（半角カナ・任意）", en: "Payee name (half-width katakana, optional)" },
  amount: { ja: "振込金額（円）", en: "Amount (yen)" },
  next: { ja: "次へ（取引認証）", en: "Next (sign on the token)" },
  authTitle: { ja: "取引認証", en: "Transaction authentication" },
  authIntro: {
    ja: "トークンをこの点滅コードに当てて「読み取り」を押してください。トークンに表示される振込先と金額がこの画面の内容と同じであることを確かめ、同じならボタンAを長押ししてください（違う場合はボタンAを押して中止し、振込を行わないでください）。表示された取引認証番号を下に入力してください。",
    en: "Hold the token to this flickering code and press Scan on it. Check that the payee and the amount the token shows are the ones on this screen; if they are, hold button A (if not, press button A to refuse, and do not transfer). Type the transfer code it shows below.",
  },
  flicker: { ja: "点滅コード", en: "Flicker code" },
  slower: { ja: "遅く", en: "Slower" },
  faster: { ja: "速く", en: "Faster" },
  speed: { ja: "点滅の速さ", en: "Flicker speed" },
  manualEntry: {
    ja: "点滅コードを読み取れない場合にトークンへ入力するコード",
    en: "The code as text, for a token that cannot read the flicker",
  },
  code: { ja: "取引認証番号（8桁）", en: "Transfer code (8 digits)" },
  execute: { ja: "振込実行", en: "Make the transfer" },
  accepted: { ja: "振込を受け付けました。受付番号：", en: "The transfer was accepted. Reference: " },
  wrongCode: { ja: "取引認証番号が違います。", en: "Wrong transfer code." },
  scan: { ja: "読み取り（画面に当てる）", en: "Scan (held to the screen)" },
  scanStop: { ja: "読み取りをやめる", en: "Stop scanning" },
  scanning: { ja: "読み取り中：トークンを点滅コードに当てています", en: "scanning: the token is held to the flicker code" },
  scanGesture: {
    ja: "読み取りを始めています：ボタンAを長押し（情報画面）、もう一度長押し（読み取り画面）",
    en: "starting scan mode as its holder would: hold button A (the info screen), hold it again (SCAN)",
  },
  scanWaitDark: {
    ja: "表示が消えるのを待っています（コード表示中の長押しは削除の確認になります）",
    en: "waiting for the panel to go dark (a hold on a code asks to delete it)",
  },
  scanAnswerFirst: {
    ja: "トークンが長押しによる確認を待っています。先に確認に答えてください",
    en: "the token waits for a hold to confirm something: answer it first",
  },
  scanEnded: {
    ja: "読み取りが終わりました（30秒で終了、ボタンAを押すと中止）",
    en: "scan mode ended (it lasts 30 s; a press of button A stops it)",
  },
  noFlicker: {
    ja: "読み取る点滅コードがありません（取引認証の画面を開いてください）",
    en: "there is no flicker code to read (open the transaction authentication screen)",
  },
} as const satisfies Record<string, Term>;

/** The transfer the token shows, in words: payee, name if any, amount (for status lines and screen readers). */
export function transferText(payee: { bankCode: string; branch: string; account: string; name?: string }, amount: number): Term {
  const name = payee.name ? ` ${payee.name}` : "";
  const where = `${payee.bankCode}-${payee.branch} ${payee.account}${name}`;
  return {
    ja: `${TRANSFER.payee.ja} ${where}　金額 ${amount.toLocaleString("ja-JP")}円：正しければボタンAを長押し（違えば押して中止）`,
    en: `payee ${where}, amount JPY ${amount.toLocaleString("en-US")}: hold button A to sign, press to refuse`,
  };
}

/** What the token's panel shows, in words (for status lines and screen readers); the code screen is otpScreenText. */
export const TOKEN_SCREENS = {
  off: {
    ja: "表示は消えています（ボタンAを押すとワンタイムパスワードが表示されます）",
    en: "display off (press button A to show the one-time password)",
  },
  "not-set-up": { ja: "未設定（トークンの登録が必要です）", en: "not set up (register the token)" },
  activating: { ja: "登録中：銀行の応答を待っています（ボタンAで中止）", en: "activating: waiting for the bank (button A cancels)" },
  locked: {
    ja: `登録できません：失敗が多すぎました（トークンを消去してやり直してください。${GUIDANCE.realTokenLocked.ja}）`,
    en: `locked: too many failed registrations (erase the token to start again. ${GUIDANCE.realTokenLocked.en})`,
  },
  "clock-lost": { ja: "時計が止まりました（時刻の設定が必要です）", en: "clock lost (the time must be set)" },
  "low-battery": { ja: "電池残量がありません", en: "low battery" },
  "self-test-failed": { ja: "自己診断エラー", en: "self-test failed" },
  "storage-error": { ja: "記憶装置エラー", en: "storage error" },
  "erase-confirm": { ja: "消去の確認：10秒以内にボタンAを長押しすると消去します", en: "erase? hold button A within 10 s to erase" },
  "add-confirm": { ja: "追加の確認：10秒以内にボタンAを長押しすると追加します", en: "add a profile? hold button A within 10 s to add it" },
  "replace-confirm": {
    ja: `置き換えの確認：10秒以内にボタンAを長押しすると、同じ${TERMS.serviceId.ja}のプロファイルを新しいものに置き換えます`,
    en: `replace? hold button A within 10 s to replace the profile of the same ${TERMS.serviceId.en} with the new one`,
  },
  "delete-confirm": {
    ja: "削除の確認：10秒以内にボタンAを長押しすると、このプロファイルを削除します（押すと残します）",
    en: "delete this profile? hold button A within 10 s to delete it (a press keeps it)",
  },
  info: { ja: "製造番号・ファームウェア・電池電圧", en: "serial number, firmware, battery voltage" },
  transfer: {
    ja: "振込の確認：振込先と金額を確かめ、正しければボタンAを長押し（違えば押して中止）",
    en: "a transfer: check the payee and the amount; hold button A to sign it, press to refuse",
  },
  scan: {
    ja: "読み取り中（トークンを点滅コードに当ててください。押すと中止）",
    en: "scanning (hold the token to the flicker code; a press stops it)",
  },
  "transfer-code": { ja: "取引認証番号（振込画面に入力してください）", en: "the transfer's code (type it into the bank's page)" },
} as const satisfies Record<string, Term>;

/** The code screen in words: the label, the code and the seconds before it changes (59 .. 0). */
export function otpScreenText(label: string, code: string, secondsLeft: number): Term {
  return {
    ja: `${label}  ${TERMS.oneTimePassword.ja} ${code}  あと ${secondsLeft} 秒`,
    en: `${label}  code ${code}  ${secondsLeft} s left`,
  };
}

/** The limit the bank applies to wrong 利用開始パスワード and wrong first codes together (one issue). */
export const ISSUE_ATTEMPTS = 5;

/**
 * A refusal that counts toward the issue's limit, worded for the holder: the attempts left before the
 * issue is void (「あと N 回」), or that it is void and a new トークン発行 is needed.
 * `what` is the wrong thing typed: the activation password (registration) or the code (confirmation).
 */
export function attemptsText(what: "password" | "code", attemptsLeft: number): Term {
  const wrong =
    what === "password"
      ? { ja: `${TERMS.activationPassword.ja}が違います。`, en: `Wrong ${TERMS.activationPassword.en}.` }
      : { ja: `${TERMS.oneTimePassword.ja}が違います。`, en: `Wrong ${TERMS.oneTimePassword.en.toLowerCase()}.` };
  if (attemptsLeft <= 0) return issueVoidText(wrong);
  return {
    ja: `${wrong.ja}あと ${attemptsLeft} 回間違えると、このトークン発行は無効になります。`,
    en: `${wrong.en} ${attemptsLeft} attempt${attemptsLeft === 1 ? "" : "s"} left before this token issue is void.`,
  };
}

/**
 * After 送信, before 登録: the bank counted this attempt (it cannot tell a wrong 利用開始パスワード; the
 * token finds it at 登録) and takes it back when the token registers. Says what is left should it be
 * wrong: for a relay that sees only the bank's answer (`otp-token bank activate`).
 */
export function attemptsPendingText(attemptsLeft: number): Term {
  return attemptsLeft <= 0
    ? {
        ja: `この送信が最後の1回です。${TERMS.activationPassword.ja}が違っていた場合、このトークン発行は無効になります。`,
        en: `This is the last attempt: if the ${TERMS.activationPassword.en} is wrong, this token issue becomes void.`,
      }
    : {
        ja: `${TERMS.activationPassword.ja}が違っていた場合、あと ${attemptsLeft} 回間違えると、このトークン発行は無効になります（${TERMS.register.ja}が完了すると、この送信は数えられません）。`,
        en: `If the ${TERMS.activationPassword.en} is wrong, ${attemptsLeft} attempt${attemptsLeft === 1 ? "" : "s"} will be left before this token issue is void (a completed ${TERMS.register.en} is not counted).`,
      };
}

/** The issue is void (too many wrong attempts, or a newer issue replaced it): a new トークン発行 is needed. */
export function issueVoidText(lead: Term = { ja: "", en: "" }): Term {
  return {
    ja: `${lead.ja}このトークン発行は無効になりました。もう一度「${TERMS.tokenIssue.ja}」からやり直してください。`,
    en: `${lead.en ? `${lead.en} ` : ""}This token issue is now void: issue a new token ("${TERMS.tokenIssue.en}") and start again.`,
  };
}

export type TermKey = keyof typeof TERMS;

/**
 * The issue screen's note on mail filters, naming the bank's sending domain (a bank setting):
 * the manual's sentence with the domain in its quotes.
 */
export function mailFilterNote(domain: string | undefined): Term {
  // Before the page knows the bank's setting, the note still asks for the bank's mail to be let through.
  if (!domain) {
    return {
      ja: "送信メールフィルタ等で送信メール対策をしている方は、銀行からのメールを解除設定してご利用ください。",
      en: "If you filter incoming mail, allow mail from the bank before you continue.",
    };
  }
  return {
    ja: `送信メールフィルタ等で送信メール対策をしている方は、「${domain}」を解除設定してご利用ください。`,
    en: `If you filter incoming mail, allow mail from "${domain}" before you continue.`,
  };
}

const JST_OFFSET_SECONDS = 9 * 3600;

/**
 * The bank screens' date and time, in Japan time as the manual prints it:
 * "2021年05月20日 17時27分40秒". Japan has no daylight saving time, so a fixed +9 h is exact.
 */
/** The same Japan time in the English page's words: "2021-05-20 17:27:40 JST". */
export function bankDateTimeEn(unixSeconds: number): string {
  return `${new Date((Math.floor(unixSeconds) + JST_OFFSET_SECONDS) * 1000).toISOString().slice(0, 19).replace("T", " ")} JST`;
}

export function bankDateTime(unixSeconds: number): string {
  const d = new Date((Math.floor(unixSeconds) + JST_OFFSET_SECONDS) * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${d.getUTCFullYear()}年${two(d.getUTCMonth() + 1)}月${two(d.getUTCDate())}日 ` +
    `${two(d.getUTCHours())}時${two(d.getUTCMinutes())}分${two(d.getUTCSeconds())}秒`
  );
}
