// otp-token sim (npm start): the token's real framebuffer in the terminal, driven by the keyboard,
// on real time (or accelerated), with its flash persisted in a file so the token survives restarts.
// Without a terminal it prints a short scripted run and exits 0.
//
// The interactive screen is drawn on the terminal's alternate screen with the cursor hidden, each
// frame written over the last from the top left (no clearing, so no flicker); below 130 columns the
// panel is drawn with quadrant blocks (64 columns), so the whole screen fits 80. The terminal is put
// back (main screen, cursor, cooked mode) on every way out: q, Ctrl-C, a signal, a crash.
import { resolve } from "node:path";
import stringWidth from "string-width";
import { OPTICAL_MAX_PAYLOAD, STATUS_BAD_TAG, STATUS_TEXT } from "../abi.js";
import { type ActivationAnswer, Bank } from "../bank/bank.js";
import { MasterKey } from "../bank/crypto.js";
import { BankError } from "../bank/errors.js";
import { type BankStore, StoreOpenError } from "../bank/store.js";
import { openStore } from "../bank/open-store.js";
import { DEFAULT_BOARD_START_MS } from "../board/board.js";
import { FlickerPage } from "../optical/flicker.js";
import { parseFrameText } from "../optical/frame.js";
import { transferScreens } from "../transaction.js";
import { refusalWords, registerRefusalWords, tokenRefusalWords } from "../refusals.js";
import { GUIDANCE, otpScreenText, type Term, TERMS, TOKEN_SCREENS } from "../terms.js";
import { defaultFlashPath, FlashFileError, openTokenFile, saveTokenFile } from "../token/flash-file.js";
import { LinkError, type Registration } from "../token/link.js";
import { SimToken, type Screen } from "../token/sim-token.js";
import { DEFAULT_DB } from "../defaults.js";
import { isYes, processStdin } from "./prompt.js";
import { CliError, describeError, type Io, type Lang, parse, UsageError } from "../usage.js";

export const SIM_HELP = `Usage: otp-token sim [options]

The token simulator: the firmware's own 128x32 display drawn in the terminal (quadrant blocks
below 130 columns, so it fits 80), on the alternate screen; the terminal is restored on exit.

Keys:  space  press button A (wakes the token; while a code shows, next profile;
              on the activating screen, cancels; on a delete question, keeps the profile)
       h      hold button A for 2.5 s (on a code: asks to delete that profile, and a
              second hold deletes it; confirms an erase, an added or a replacing profile;
              on device info, starts scan mode: SCAN for 30 s, a press stops it;
              otherwise device info)
       f      fast-forward 30 s
       a      register the token with the bank (the manual's steps 5 and 6): Service ID,
              User ID, 利用開始パスワード, 同意する, then 送信 (send) and 登録 (register);
              a token that holds this Service ID replaces that profile (hold: h)
       e      erase the token: it asks for button A to be held (h) within 10 s
       t      取引認証 by hand: type the transfer frame's text the bank's page shows under
              its flicker code (chipTAN's manual entry; Enter takes it); the token shows
              the payee and the amount: h signs and shows the transfer code, space refuses
       q      quit (the flash is saved)

The token's clock is the wall clock from the moment the simulator starts (times --speed),
whatever it asks first.

Options:
  --flash PATH   the token's flash image (default: $OTP_TOKEN_HOME/token.flash,
                 $OTP_TOKEN_HOME defaulting to ~/.otp-token); created if missing
  --speed N      run the token's clock N times faster than real time (1-3600, default 1)
  --db PATH      the bank database registration talks to (default ./bank.sqlite, as
                 otp-token bank); its master key from --master-key-file PATH or
                 $OTP_BANK_MASTER_KEY
  -h, --help     this help

Wording is Japanese when the locale is (LANG=ja_JP.UTF-8). Without a terminal (stdout not a
TTY) it prints a scripted run and exits.
`;

/** The demo profile: RFC 6238's published SHA-1 test seed. Public, for demonstration only. */
export const DEMO_PROFILE = { seed: new TextEncoder().encode("12345678901234567890"), label: "DEMO", digits: 6, period: 60 };

/** Panels narrower than this many columns are drawn compact (64 columns instead of 128). */
export const WIDE_PANEL_COLUMNS = 130;

const pick = (lang: Lang, term: Term) => (lang === "ja" ? term.ja : term.en);

/** What the panel shows, in words (the language of the bank's manual when `lang` is "ja"). */
export function describeScreen(screen: Screen, lang: Lang = "en"): string {
  // Two services of one label are told apart as the panel does: the label, then the Service ID's last digits.
  const label = screen.serviceSuffix ? `${screen.label} ${screen.serviceSuffix}` : screen.label;
  if (screen.mode === "otp") {
    return `${pick(lang, otpScreenText(label, screen.code!, screen.secondsLeft!))}  ${lang === "ja" ? "電池" : "battery"} ${screen.battery}/4`;
  }
  if (screen.mode === "delete-confirm") return `${label}: ${pick(lang, TOKEN_SCREENS[screen.mode])}`;
  if (screen.mode === "transfer-code") return `${pick(lang, TOKEN_SCREENS[screen.mode])}: ${screen.code}`;
  return `${pick(lang, TOKEN_SCREENS[screen.mode])}${screen.errorCode ? ` (E${screen.errorCode})` : ""}`;
}

export async function simCommand(args: string[], io: Io): Promise<number> {
  const { values } = parse(
    args,
    {
      flash: { type: "string" },
      speed: { type: "string" },
      db: { type: "string" },
      "master-key-file": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    false,
  );
  if (values.help) {
    io.out(SIM_HELP);
    return 0;
  }
  const speedText = values.speed ?? "1";
  if (!/^\d+$/.test(speedText) || Number(speedText) < 1 || Number(speedText) > 3600) {
    throw new UsageError(`--speed must be a whole number from 1 to 3600, got ${JSON.stringify(speedText)}`);
  }
  if (!process.stdout.isTTY || !process.stdin.isTTY) return scriptedRun(io);
  return interactive(resolve(values.flash ?? defaultFlashPath()), Number(speedText), io, {
    db: values.db ?? DEFAULT_DB,
    masterKeyFile: values["master-key-file"],
  });
}

/** The non-TTY run: program the demo profile, press, show the screen either side of a step boundary. */
export function scriptedRun(io: Io): number {
  // A fixed virtual start 50 s into a step, so the run is the same every time.
  const token = new SimToken({ boardConfig: { startMs: DEFAULT_BOARD_START_MS + 50_000 } });
  const show = (title: string) => {
    io.out(`\n${title}\n${token.render()}\n${describeScreen(token.screen(), io.lang)}\n`);
  };
  io.out("otp-token simulator (scripted run: stdout is not a terminal)\n");
  io.out(
    `Token serial ${token.info().serial}, firmware ${token.info().firmware}; clock ${new Date(Number(token.rtcSeconds()) * 1000).toISOString()}\n`,
  );
  token.addProfile(DEMO_PROFILE);
  io.out("Programmed the demo profile (RFC 6238 test seed, TOTP SHA-1, 6 digits, 60 s).\n");
  show("Asleep, panel off:");
  token.press();
  show("After pressing button A:");
  token.advance((token.screen().secondsLeft ?? 0) * 1000);
  show("The last second of the step: the countdown reads 0:");
  token.advance(1000);
  show("At the step boundary: the new code, the countdown back at 59:");
  io.out("\nRun it in a terminal for the interactive simulator (keys: space, h, f, a, t, e, q).\n");
  return 0;
}

function loadToken(flashPath: string, nowMs: number): { token: SimToken; created: boolean } {
  try {
    return openTokenFile(flashPath, nowMs);
  } catch (error) {
    if (error instanceof FlashFileError) throw new CliError("flash-file", error.message);
    throw error;
  }
}

/**
 * Keeps the token's clock on the wall clock, `speed` times faster, from the moment it was made: each
 * catchUp() advances the token by the wall time since the last (`now` is the wall clock in ms).
 */
export class WallPace {
  private last: number;

  constructor(
    private readonly token: SimToken,
    private readonly speed: number,
    private readonly now: () => number,
    startMs: number = now(),
  ) {
    this.last = startMs;
  }

  catchUp(): void {
    const now = this.now();
    if (now > this.last) this.token.advance((now - this.last) * this.speed);
    this.last = now;
  }
}

/**
 * Opens the simulator's token: its clock starts at the wall clock now, and whatever is asked first
 * (the demo profile, on a new token) is time the token's clock keeps counting, as a real token's
 * would while its holder read the question.
 */
export async function openSim(
  flashPath: string,
  speed: number,
  ask: (question: string) => Promise<string>,
  now: () => number = Date.now,
  lang: Lang = "en",
): Promise<{ token: SimToken; created: boolean; pace: WallPace }> {
  const startMs = now();
  const { token, created } = loadToken(flashPath, startMs);
  const pace = new WallPace(token, speed, now, startMs);
  if (token.info().profileCount === 0) {
    const answer = await ask(
      lang === "ja"
        ? "このトークンにはプロファイルがありません。デモ用のプロファイル（RFC 6238 のテスト用シード）を書き込みますか？ [Y/n] "
        : "This token has no profile. Program the demo profile (RFC 6238 test seed)? [Y/n] ",
    );
    pace.catchUp();
    if (answer.trim() === "" || isYes(answer)) token.addProfile(DEMO_PROFILE);
  }
  return { token, created, pace };
}

/** The longest frame text: 2 hex digits a byte of the largest frame, with a space every 8. */
const MAX_FRAME_TEXT = 2 * (3 + OPTICAL_MAX_PAYLOAD + 4) * 2;

/**
 * A transfer frame typed by hand (chipTAN's manual entry): the token takes its payload as it would
 * from the page, a clean flicker of it through its own sensors and decoder, and shows it. Returns
 * the message for the holder: what the token shows and what to do, or why nothing was taken.
 */
export function enterFrameText(token: SimToken, text: string, lang: Lang = "en"): string {
  let payload: Uint8Array;
  try {
    payload = parseFrameText(text);
  } catch (error) {
    return `${lang === "ja" ? "コードを読み取れません：" : "Not a frame: "}${(error as Error).message}`;
  }
  const page = new FlickerPage(payload, { noise: 0, jitter: 0 }, token.board.clock.now());
  const verdict = token.scanPage((timeMs) => page.lightAt(timeMs), 2 * page.frameMs);
  if (verdict <= 0)
    return `${lang === "ja" ? "トークンが受け付けませんでした：" : "The token refused: "}${pick(lang, tokenRefusalWords(verdict, STATUS_TEXT[verdict] ?? String(verdict)))}`;
  return `${transferScreens(payload).join("  ")}\n${pick(lang, TOKEN_SCREENS.transfer)}`;
}

/** The IDs typed into the form have the wrong form (the token's link refuses them before anything is sent). */
const IDENTITY_FORM: Term = {
  ja: `${TERMS.serviceId.ja}は8桁の数字、${TERMS.userId.ja}は16桁の半角英大文字・数字で入力してください。`,
  en: `The ${TERMS.serviceId.en} must be 8 digits and the ${TERMS.userId.en} 16 upper-case letters or digits.`,
};

/** The token's registration form (the manual's steps 5 and 6): the IDs, the password, consent, then 送信 and 登録. */
export interface RegistrationForm {
  /** 0 Service ID, 1 User ID, 2 activation password, 3 consent. */
  field: number;
  serviceId: string;
  userId: string;
  password: string;
  consent: boolean;
  /** "sent": the bank answered, 登録 waits. */
  stage: "input" | "sent";
}

export function newForm(): RegistrationForm {
  return { field: 0, serviceId: "", userId: "", password: "", consent: false, stage: "input" };
}

const FIELD_LIMITS = [8, 16, 8];

export function renderForm(form: RegistrationForm, lang: Lang = "en"): string {
  const labels = [`${pick(lang, TERMS.serviceId)} (8)`, `${pick(lang, TERMS.userId)} (16)`, pick(lang, TERMS.activationPassword)];
  const values = [form.serviceId, form.userId, "*".repeat(form.password.length)];
  const width = Math.max(...labels.map((label) => stringWidth(label)));
  const lines = labels.map(
    (label, i) => `${i === form.field ? ">" : " "} ${label}${" ".repeat(width - stringWidth(label))} [ ${values[i].padEnd(16)} ]`,
  );
  lines.push(`${form.field === 3 ? ">" : " "} [${form.consent ? "x" : " "}] ${pick(lang, TERMS.agree)}`);
  const title = lang === "ja" ? "トークン登録" : "Token registration";
  const keys =
    form.stage === "sent"
      ? `  ${pick(lang, GUIDANCE.bankAnswered)}  [Enter] ${pick(lang, TERMS.register)}  [Esc] ${lang === "ja" ? "中止" : "cancel"}`
      : `  [Enter] ${lang === "ja" ? "次へ" : "next"} / ${pick(lang, TERMS.send)}   [y] ${pick(lang, TERMS.agree)}   [Esc] ${lang === "ja" ? "中止" : "cancel"}`;
  return [title, ...lines, keys].join("\n");
}

/**
 * One key typed into the form. Returns "send" (Enter with the consent ticked), "register" (Enter
 * after the bank answered), "cancel" (Esc, or n after the answer), "consent-missing", or undefined.
 */
export function formKey(form: RegistrationForm, key: string): "send" | "register" | "cancel" | "consent-missing" | undefined {
  if (key === "\u001b") return "cancel";
  const enter = key === "\r" || key === "\n";
  if (form.stage === "sent") {
    if (enter || key === "y" || key === "Y") return "register";
    if (key === "n" || key === "N") return "cancel";
    return undefined;
  }
  if (form.field === 3) {
    if (key === "y" || key === "Y" || key === " ") form.consent = key === " " ? !form.consent : true;
    else if (key === "n" || key === "N") form.consent = false;
    else if (enter) return form.consent ? "send" : "consent-missing";
    else if (key === "\u007f" || key === "\b") form.field = 2;
    return undefined;
  }
  const names = ["serviceId", "userId", "password"] as const;
  const name = names[form.field];
  if (enter) {
    form.field++;
  } else if (key === "\t") {
    form.field = (form.field + 1) % 4;
  } else if (key === "\u007f" || key === "\b") {
    if (form[name].length === 0 && form.field > 0) form.field--;
    else form[name] = form[name].slice(0, -1);
  } else {
    // Full-width characters typed with a Japanese input method are the characters they stand for.
    const typed = key.normalize("NFKC");
    if (/^[\x21-\x7e]$/.test(typed) && form[name].length < FIELD_LIMITS[form.field])
      form[name] += name === "userId" ? typed.toUpperCase() : typed;
  }
  return undefined;
}

export interface BankOptionsForSim {
  db: string;
  masterKeyFile?: string;
}

/** Runs `use` on the bank of `options` (its SQLite file), worded for the holder when it refuses. */
async function withSimBank<T>(options: BankOptionsForSim, lang: Lang, use: (bank: Bank) => Promise<T>): Promise<T> {
  let store: BankStore | undefined;
  try {
    store = await openStore(options.db);
    return await use(await Bank.open(store, MasterKey.load(options.masterKeyFile), { actor: "sim" }));
  } catch (error) {
    if (error instanceof BankError) {
      const words = refusalWords(error, "register");
      throw new CliError(error.code, words ? pick(lang, words) : error.message);
    }
    if (error instanceof StoreOpenError) throw new CliError("store", error.message);
    throw error;
  } finally {
    await store?.close();
  }
}

/**
 * 送信: the token's request (message 1) goes to the bank (same process, the bank's SQLite file);
 * returns the bank's answer for 登録. A refusal cancels the activation on the token (it leaves its
 * activating screen) and is thrown as a CliError worded for the holder, attempts left included.
 */
export async function sendToBank(
  token: SimToken,
  form: RegistrationForm,
  options: BankOptionsForSim,
  lang: Lang = "en",
): Promise<ActivationAnswer> {
  if (!form.consent) throw new CliError("not-agreed", pick(lang, GUIDANCE.consentMissing));
  const request = token.link.activateBegin(form.serviceId, form.userId, form.password);
  try {
    return await withSimBank(options, lang, (bank) => bank.activate(request));
  } catch (error) {
    token.link.activateCancel();
    throw error;
  }
}

/**
 * 登録: the token checks the bank's answer and stores the profile; its confirmation (message 3) goes
 * to the bank. Returns the registration: when `replacing`, the token holds this Service ID and asks
 * its holder to hold button A (h) to replace that profile. When the token refuses the answer (with CPace, where a
 * wrong 利用開始パスワード shows) the activation is cancelled on the token and the CliError says the
 * attempts left before the issue is void, from the bank's answer at 送信.
 */
export async function registerWithBank(
  token: SimToken,
  answer: ActivationAnswer,
  options: BankOptionsForSim,
  lang: Lang = "en",
): Promise<Registration> {
  let registered: Registration;
  try {
    registered = token.link.activateFinish(answer.response);
  } catch (error) {
    token.link.activateCancel();
    if (error instanceof LinkError && error.status === STATUS_BAD_TAG) {
      throw new CliError("wrong-password", pick(lang, registerRefusalWords(answer.attemptsLeft, token.info().activationLocked)));
    }
    throw error;
  }
  await withSimBank(options, lang, (bank) => bank.register(registered.confirmation));
  return registered;
}

// Terminal control (ECMA-48 / xterm): alternate screen, cursor visibility, home, erase.
const ENTER_SCREEN = "\x1b[?1049h\x1b[?25l\x1b[2J";
const LEAVE_SCREEN = "\x1b[?25h\x1b[?1049l";
const HOME = "\x1b[H";
const ERASE_LINE_END = "\x1b[K";
const ERASE_BELOW = "\x1b[J";

/** Cuts `line` to `columns` terminal columns (Japanese characters are two wide). */
export function fitLine(line: string, columns: number): string {
  if (stringWidth(line) <= columns) return line;
  let out = "";
  for (const character of line) {
    if (stringWidth(out + character) > columns - 1) break;
    out += character;
  }
  return `${out}…`;
}

/** Wraps `text` into lines of at most `columns` terminal columns (at spaces where it can). */
export function wrapLines(text: string, columns: number): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split("\n")) {
    let line = "";
    // A line the text continues on drops the spaces it would start with; the paragraph's first keeps its indent.
    let continued = false;
    for (const character of paragraph) {
      if (stringWidth(line + character) > columns) {
        // The last place the line may break: after a space or Japanese punctuation, or before an opening
        // bracket; never inside a word (「トークン発行」 stays whole), and no line starts with 、 or 。.
        let at = breakPoint(line, character);
        if (at <= 0) at = BREAK_AFTER.has(character) && line.length > 1 ? line.length - [...line].pop()!.length : line.length;
        lines.push(line.slice(0, at).trimEnd());
        line = line.slice(at).trimStart();
        continued = true;
      }
      if (!(continued && line === "" && character === " ")) line += character;
    }
    lines.push(line);
  }
  return lines;
}

const BREAK_AFTER = new Set([..." 、。，．・）」』】！？：:,;"]);
const BREAK_BEFORE = new Set([..."（「『【"]);

/** Where `line` (followed by `next`) may break, or 0 when it has no such place. */
function breakPoint(line: string, next: string): number {
  const chars = [...line];
  if (BREAK_BEFORE.has(next) || next === " ") return line.length;
  let offset = line.length;
  for (let i = chars.length - 1; i > 0; i--) {
    offset -= chars[i].length;
    const before = chars[i - 1];
    const after = chars[i];
    if (BREAK_AFTER.has(before) || BREAK_BEFORE.has(after)) return offset;
  }
  return 0;
}

/**
 * One frame of the interactive screen for a terminal `columns` wide: the header, the panel (compact
 * below WIDE_PANEL_COLUMNS), what it shows, the form or the keys, and the last message.
 */
export function composeFrame(
  parts: { header: string[]; token: SimToken; form?: RegistrationForm; frameInput?: string; message: string; lang: Lang },
  columns: number,
): string[] {
  const { token, form, lang, frameInput } = parts;
  const compact = columns < WIDE_PANEL_COLUMNS;
  const keys =
    frameInput !== undefined
      ? `${lang === "ja" ? "取引認証（コード入力）" : "transfer frame"} [ ${frameInput} ]  [Enter] ${lang === "ja" ? "読み取り" : "take"}  [Esc] ${lang === "ja" ? "中止" : "cancel"}`
      : lang === "ja"
        ? "[space] 押す  [h] 長押し  [f] +30秒  [a] 登録  [t] 取引認証  [e] 消去  [q] 終了"
        : "[space] press  [h] hold  [f] +30 s  [a] register  [t] transfer  [e] erase  [q] quit";
  const lines = [
    ...parts.header,
    "",
    ...token.render({ compact }).split("\n"),
    describeScreen(token.screen(), lang),
    "",
    ...(form ? renderForm(form, lang).split("\n") : [keys]),
    ...wrapLines(parts.message, columns),
  ];
  return lines.map((line) => fitLine(line, columns));
}

let screenTaken = false;

function takeTerminal(): void {
  process.stdout.write(ENTER_SCREEN);
  process.stdin.setRawMode(true);
  screenTaken = true;
}

/**
 * Puts the terminal back: main screen, cursor shown, cooked mode. Only once: leaving the alternate
 * screen twice would move the cursor back over what was written after the first time.
 */
function restoreTerminal(): void {
  if (process.stdin.isTTY && process.stdin.isRaw) process.stdin.setRawMode(false);
  if (!screenTaken) return;
  screenTaken = false;
  process.stdout.write(LEAVE_SCREEN);
}

async function interactive(flashPath: string, speed: number, io: Io, bankOptions: BankOptionsForSim): Promise<number> {
  const lang = io.lang ?? "en";
  const { token, created, pace } = await openSim(flashPath, speed, (question) => processStdin.ask(question), Date.now, lang);
  io.out(`Flash image: ${flashPath}${created ? " (new token)" : ""}\n`);
  saveTokenFile(token, flashPath);
  let flashOperations = token.board.flash.operationCount;
  let message = lang === "ja" ? "スペースキーでボタンAを押します。" : "Press space to wake the token.";
  let form: RegistrationForm | undefined;
  /** The transfer frame's text being typed (t), or undefined. */
  let frameInput: string | undefined;
  let answer: ActivationAnswer | undefined;
  let lastColumns = 0;

  const draw = () => {
    const columns = process.stdout.columns || 80;
    const rtc = token.rtcSeconds();
    const time = rtc < 0n ? "clock lost" : new Date(Number(rtc) * 1000).toISOString().replace(".000Z", "Z");
    const header = [`otp-token simulator   ${lang === "ja" ? "トークンの時刻" : "token time"} ${time}   ${speed}x`, `flash: ${flashPath}`];
    const lines = composeFrame({ header, token, form, frameInput, message, lang }, columns);
    // A resize can leave characters beyond the new width: clear once, then draw over as usual.
    const clear = columns !== lastColumns ? "\x1b[2J" : "";
    lastColumns = columns;
    process.stdout.write(`${clear}${HOME}${lines.map((line) => `${line}${ERASE_LINE_END}`).join("\r\n")}${ERASE_BELOW}`);
  };

  // Saves the image whenever the firmware wrote flash.
  const saveIfWritten = () => {
    if (token.board.flash.operationCount !== flashOperations) {
      flashOperations = token.board.flash.operationCount;
      saveTokenFile(token, flashPath);
    }
  };
  const step = (ms: number) => {
    token.advance(ms);
    saveIfWritten();
  };
  const keepPace = () => {
    pace.catchUp();
    saveIfWritten();
  };

  const onFormKey = (key: string) => {
    const filled = form!;
    let result: ReturnType<typeof formKey>;
    // A paste arrives as several characters at once: type them one by one.
    for (const character of key) {
      result = formKey(filled, character);
      if (result) break;
    }
    if (result === "cancel") {
      if (answer) token.link.activateCancel();
      form = undefined;
      answer = undefined;
      message = lang === "ja" ? "登録を中止しました。" : "Registration cancelled.";
    } else if (result === "consent-missing") {
      message = pick(lang, GUIDANCE.consentMissing);
    } else if (result === "send") {
      // The bank answers asynchronously; the panel keeps running meanwhile.
      void sendToBank(token, filled, bankOptions, lang)
        .then(
          (answered) => {
            answer = answered;
            filled.stage = "sent";
            message = pick(lang, GUIDANCE.bankAnswered);
          },
          (error: unknown) => {
            filled.password = "";
            filled.field = 2;
            // The token's own refusals and the IDs' form in the holder's language, never English inside Japanese.
            const words =
              error instanceof LinkError
                ? tokenRefusalWords(error.status, error.message)
                : error instanceof RangeError
                  ? IDENTITY_FORM
                  : null;
            message = `${lang === "ja" ? "登録できませんでした：" : "Refused: "}${words ? pick(lang, words) : (error as Error).message}`;
          },
        )
        .finally(() => {
          saveIfWritten();
          draw();
        });
    } else if (result === "register") {
      const answered = answer!;
      form = undefined;
      answer = undefined;
      void registerWithBank(token, answered, bankOptions, lang)
        .then(
          ({ profile, replacing }) => {
            message = replacing
              ? lang === "ja"
                ? `このトークンには同じ${TERMS.serviceId.ja}のプロファイル ${profile} があります。10秒以内に h（ボタンAの長押し）で新しいものに置き換えてから、表示されたワンタイムパスワードで認証確認してください。\n`
                : `This token holds profile ${profile} for the same ${TERMS.serviceId.en}: hold button A (h) within 10 s to replace it, then confirm with the code it shows.\n`
              : `${pick(lang, GUIDANCE.registered)} (${lang === "ja" ? "プロファイル" : "profile"} ${profile})\n`;
            message += `otp-token bank confirm --user-id ${filled.userId} CODE`;
          },
          (error: unknown) => {
            // The form comes back for another 送信 (a wrong 利用開始パスワード is typed again), or Esc.
            form = { ...filled, stage: "input", password: "", field: 2 };
            // The token's own refusals and the IDs' form in the holder's language, never English inside Japanese.
            const words =
              error instanceof LinkError
                ? tokenRefusalWords(error.status, error.message)
                : error instanceof RangeError
                  ? IDENTITY_FORM
                  : null;
            message = `${lang === "ja" ? "登録できませんでした：" : "Refused: "}${words ? pick(lang, words) : (error as Error).message}`;
          },
        )
        .finally(() => {
          saveIfWritten();
          draw();
        });
    }
  };

  return await new Promise<number>((done) => {
    // From here the terminal is ours: every way out puts it back.
    takeTerminal();
    process.stdin.resume();
    const timer = setInterval(() => {
      keepPace();
      draw();
    }, 100);
    const onSignal = () => quit(0);
    const onCrash = (error: unknown) => {
      restoreTerminal();
      try {
        saveTokenFile(token, flashPath);
      } catch {
        // The crash is what gets reported.
      }
      process.stderr.write(`otp-token sim: ${describeError(error).line}\n`);
      process.exit(1);
    };
    const cleanups: [string, (...args: unknown[]) => void][] = [
      ["SIGINT", onSignal],
      ["SIGTERM", onSignal],
      ["SIGHUP", onSignal],
      ["uncaughtException", onCrash],
      ["unhandledRejection", onCrash],
      ["exit", restoreTerminal],
    ];
    for (const [event, handler] of cleanups) process.on(event, handler);
    const quit = (status: number) => {
      clearInterval(timer);
      for (const [event, handler] of cleanups) process.off(event, handler);
      process.stdin.off("data", onData);
      restoreTerminal();
      process.stdin.pause();
      saveTokenFile(token, flashPath);
      io.out(`Saved ${flashPath}\n`);
      done(status);
    };
    const onData = (data: Buffer) => {
      const key = data.toString();
      if (key === "\u0003") return quit(0);
      if (form) {
        onFormKey(key);
        return draw();
      }
      if (frameInput !== undefined) {
        // A paste arrives as several characters at once: each is taken in turn.
        for (const character of key) {
          if (character === "\u001b") {
            frameInput = undefined;
            message = lang === "ja" ? "取引認証を中止しました。" : "Transfer entry cancelled.";
            break;
          }
          if (character === "\r" || character === "\n") {
            message = enterFrameText(token, frameInput, lang);
            frameInput = undefined;
            saveIfWritten();
            break;
          }
          if (character === "\u007f" || character === "\b") frameInput = frameInput.slice(0, -1);
          else if (/^[0-9A-Fa-f -]$/.test(character.normalize("NFKC")) && frameInput.length < MAX_FRAME_TEXT)
            frameInput += character.normalize("NFKC").toUpperCase();
        }
        return draw();
      }
      if (key === "q") return quit(0);
      if (key === "t") {
        frameInput = "";
        message =
          lang === "ja"
            ? "銀行の取引認証画面の点滅コードの下にあるコード（A5で始まる英数字）を入力してください。"
            : "Type the code under the bank page's flicker code (hex digits starting A5).";
        return draw();
      }
      if (key === "a") {
        form = newForm();
        message = pick(lang, GUIDANCE.tokenSetup);
      } else if (key === " " || key === "\r" || key === "p") {
        token.press();
        saveIfWritten();
        message = lang === "ja" ? "ボタンAを押しました。" : "Pressed button A.";
      } else if (key === "h") {
        token.hold(2500);
        saveIfWritten();
        message = lang === "ja" ? "ボタンAを2.5秒長押ししました。" : "Held button A for 2.5 s.";
      } else if (key === "e") {
        // The token erases only when its holder holds button A (h) within 10 s.
        token.link.requestErase();
        message =
          lang === "ja"
            ? "消去の確認：10秒以内に h（ボタンAの長押し）で、すべてのプロファイルを消去します。"
            : "Erase: hold button A (h) within 10 s to erase every profile.";
      } else if (key === "f") {
        step(30_000);
        message = lang === "ja" ? "30秒進めました。" : "Fast-forwarded 30 s.";
      }
      draw();
    };
    process.stdin.on("data", onData);
    draw();
  });
}
