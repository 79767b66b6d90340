// The token in the page: the real firmware (build/token.wasm) on the board
// simulator from host/board, driven by the same SimToken as the terminal simulator. Its virtual
// clock follows the wall clock times the speed control; its flash lives in IndexedDB; its panel is
// drawn on a canvas; its registration form (the manual's steps 5 and 6: 同意する, 送信, 登録) relays
// the activation messages to the bank over HTTP.
//
// One token, one owner: the tab holding the Web Lock "otp-token-board" runs the token and writes its
// flash; another tab says the token is in use elsewhere and writes nothing (two tabs each saving their
// whole flash used to let a stale tab erase a registered token), and takes over when the lock frees.
import { Board } from "../host/board/board.js";
import { FLASH_SIZE_BYTES } from "../host/board/flash.js";
import { pixel, PANEL_HEIGHT, PANEL_WIDTH } from "../host/display/render.js";
import { SCAN_HZ, STATUS_BAD_TAG, STATUS_TEXT } from "../host/abi.js";
import { decodeTransfer } from "../host/transaction.js";
import { tokenRefusalWords, wrongPasswordAtRegister } from "../host/refusals.js";
import { LinkError } from "../host/token/link.js";
import { SimToken, type Screen } from "../host/token/sim-token.js";
import { ACTIVATION_PASSWORD_PATTERN } from "../host/identity.js";
import { bankDateTime, bankDateTimeEn, otpScreenText, transferText } from "../host/terms.js";
import { type ActivationAnswer, bank } from "./api.js";
import { refusalOf, SERVICE_ID, typedCode, USER_ID } from "./checks.js";
import { eraseBoard, loadBoard, saveBoard } from "./flash-store.js";
import { clear, language, pick, say, sayRefusal, sayWords, screenWords, t } from "./i18n.js";
import { sensorSpots } from "./flicker.js";
import { preloadModule } from "./wasm-browser.js";

/** Canvas pixels per panel pixel. */
const SCALE = 4;
const STEP_MS = 50; // wall ms between advances of the virtual clock
const SAVE_EVERY_MS = 5000; // wall ms between saves of the RTC's lead (flash writes are saved at once)
export const SPEEDS = [1, 10, 60] as const;
const MAX_DRIFT_PPM = 200_000;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

let token: SimToken;
let speed = 1;
let lastWallMs = performance.now();
let carryMs = 0;
let lastFrame: Uint8Array = new Uint8Array(0);
let flashOperations = 0;
let lastSaveMs = 0;
/** Held to the screen: the five sensors read the flicker canvas's pixels at every animation frame. */
let scanning = false;
/** While held to the screen: the firmware entered scan mode (the gesture is made once a holding). */
let scanEntered = false;
/** What each sensor sees now (0 dark to 1 full white), read from the page's pixels. */
const light = [0, 0, 0, 0, 0];
/** The transfer the token read (its payee and amount, as the firmware decoded them), while it shows it. */
let shownTransfer: { bankCode: string; branch: string; account: string; name?: string; amount: number } | null = null;
/** At most this many sensor samples per advance (a long pause, or the 60x clock). */
const MAX_SAMPLES_PER_STEP = 16;

/** The bank's answer to the last 送信 (message 2 and the attempts it leaves), waiting for 登録. */
let pendingResponse: (ActivationAnswer & { serviceId: string; userId: string }) | null = null;

function newToken(saved?: { flash: Uint8Array; rtcLeadMs: number; driftPpm: number }): SimToken {
  const now = Date.now();
  const driftPpm = saved?.driftPpm ?? 0;
  const board = new Board({
    startMs: now,
    // The RTC kept counting on its backup cell while the page was closed: it still leads the wall clock by as much.
    rtc: { driftPpm, startSeconds: BigInt(Math.floor((now + (saved?.rtcLeadMs ?? 0)) / 1000)) },
  });
  const created = new SimToken({ board, flashImage: saved && saved.flash.length === FLASH_SIZE_BYTES ? saved.flash : undefined });
  flashOperations = created.board.flash.operationCount;
  $<HTMLInputElement>("token-drift").value = String(driftPpm);
  lastFrame = new Uint8Array(0);
  return created;
}

async function save(): Promise<void> {
  lastSaveMs = performance.now();
  const rtc = token.rtcSeconds();
  await saveBoard({
    flash: token.flashImage(),
    rtcLeadMs: rtc < 0n ? 0 : Number(rtc) * 1000 - Date.now(),
    driftPpm: token.board.rtc.driftPpm,
    savedAt: Date.now(),
  });
}

/** Saves at once when the firmware wrote flash (a profile, a counter), else now and then for the clock. */
function saveIfNeeded(): void {
  const operations = token.board.flash.operationCount;
  if (operations !== flashOperations || performance.now() - lastSaveMs > SAVE_EVERY_MS) {
    flashOperations = operations;
    void save();
  }
}

function step(): void {
  const now = performance.now();
  carryMs += (now - lastWallMs) * speed;
  lastWallMs = now;
  const ms = Math.floor(carryMs);
  carryMs -= ms;
  if (scanning && token.scanning) advanceScanning(ms);
  else if (ms > 0) token.advance(ms);
  if (scanning && token.scanning) {
    if (!scanEntered) say($("scan-message"), "token.scanning");
    scanEntered = true;
  } else if (scanning && scanEntered) {
    // Scan mode ended without a frame (its timeout, a press): the token is no longer reading.
    stopScanning();
    say($("scan-message"), "token.scanEnded", "", "error");
  } else if (scanning) advanceGesture();
  redraw();
  saveIfNeeded();
}

/**
 * `ms` of virtual time while held to the screen: the sampling timer's ticks (SCAN_HZ a second) spread
 * over it, each reading the sensors once. The light is the page's pixels read last (readPixels).
 */
function advanceScanning(ms: number): void {
  const samples = Math.min(Math.max(1, Math.round((ms * SCAN_HZ) / 1000)), MAX_SAMPLES_PER_STEP);
  const slice = Math.floor(ms / samples);
  for (let n = 0; n < samples; n++) {
    token.advance(n === samples - 1 ? ms - slice * (samples - 1) : slice);
    const { verdict, payload } = token.scanSample();
    if (!payload) continue;
    stopScanning();
    if (verdict > 0) {
      const transfer = decodeTransfer(payload);
      shownTransfer = { bankCode: transfer.bankCode, branch: transfer.branch, account: transfer.account, amount: transfer.amount };
      if (transfer.name) shownTransfer.name = transfer.name;
      clear($("scan-message"));
    } else {
      sayWords($("scan-message"), "error.link", tokenRefusalWords(verdict, STATUS_TEXT[verdict] ?? String(verdict)));
    }
    return;
  }
}

/** Screens where a hold answers a question: the gesture would answer it instead of starting scan mode. */
const HOLD_ANSWERS = new Set(["erase-confirm", "add-confirm", "replace-confirm", "delete-confirm", "activating"]);
/** Screens where a hold means something else (a code: delete it; a transfer: sign it): left to go dark first. */
const WAIT_DARK = new Set(["otp", "transfer", "transfer-code"]);

/**
 * Held to the screen, the firmware not in scan mode yet: the read control makes the holder's gesture
 * on button A in the token's own time (assembly/device/device.ts, startScan): a hold on a dark panel
 * (the info screen), a hold there (SCAN). It is the gesture, not a way around it: the firmware alone
 * powers the sensors and starts sampling.
 */
function advanceGesture(): void {
  const button = token.board.button;
  const element = $("token-button");
  if (element.dataset.down) return; // the holder has the button
  if (button.isDown) {
    if (button.heldMs >= button.config.longPressMs + 200) button.up();
    return;
  }
  const mode = token.screen().mode;
  if (HOLD_ANSWERS.has(mode)) {
    stopScanning();
    say($("scan-message"), "token.scanAnswerFirst", "", "error");
  } else if (WAIT_DARK.has(mode)) {
    say($("scan-message"), "token.scanWaitDark");
  } else {
    say($("scan-message"), "token.scanGesture");
    button.down();
  }
}

/** The flicker code the token is held to: the bank's canvas, when its screen shows one. */
function flickerCanvas(): HTMLCanvasElement | null {
  const canvas = document.getElementById("flicker") as HTMLCanvasElement | null;
  return canvas && canvas.offsetParent !== null && canvas.dataset.frame ? canvas : null;
}

/** The sensors' light: each the brightness of a 3x3 patch of the canvas's pixels under it (Rec. 709 luma). */
function readPixels(canvas: HTMLCanvasElement): void {
  const context = canvas.getContext("2d", { willReadFrequently: true });
  if (!context) return;
  sensorSpots(canvas).forEach(({ x, y }, line) => {
    const { data } = context.getImageData(x - 1, y - 1, 3, 3);
    let sum = 0;
    for (let i = 0; i < data.length; i += 4) sum += 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
    light[line] = sum / (9 * 255);
  });
}

function scanFrame(): void {
  if (!scanning) return;
  const canvas = flickerCanvas();
  // The flicker went away (the bank's screen changed): the token is in the dark again.
  if (!canvas) {
    stopScanning();
    say($("scan-message"), "token.noFlicker", "", "error");
    return;
  }
  readPixels(canvas);
  step();
  requestAnimationFrame(scanFrame);
}

function startScanning(): void {
  if (scanning) return;
  if (!flickerCanvas()) {
    say($("scan-message"), "token.noFlicker", "", "error");
    return;
  }
  step(); // time so far passes in the dark
  shownTransfer = null;
  scanning = true;
  scanEntered = false;
  light.fill(0);
  token.board.light.aim(() => light);
  $("token-scan").setAttribute("aria-pressed", "true");
  say($("token-scan"), "token.scanStop");
  say($("scan-message"), "token.scanning");
  requestAnimationFrame(scanFrame);
}

function stopScanning(): void {
  if (!scanning) return;
  scanning = false;
  scanEntered = false;
  // A gesture under way is let go (the token's own scan mode ends with its timeout or a press).
  if (token.board.button.isDown && !$("token-button").dataset.down) token.board.button.up();
  token.board.light.aim(undefined);
  $("token-scan").setAttribute("aria-pressed", "false");
  say($("token-scan"), "token.scan");
  clear($("scan-message"));
}

/** What the panel shows, in the page's language (a dark panel says a press shows the code). */
function describe(screen: Screen): string {
  // Two services of one label are told apart as the panel does: the label, then the Service ID's last digits.
  const label = screen.serviceSuffix ? `${screen.label} ${screen.serviceSuffix}` : screen.label;
  if (screen.mode === "otp") return pick(otpScreenText(label, screen.code!, screen.secondsLeft!));
  if (screen.mode === "delete-confirm") return `${label}: ${screenWords(screen.mode)}`;
  if (screen.mode === "transfer" && shownTransfer) return pick(transferText(shownTransfer, shownTransfer.amount));
  if (screen.mode === "transfer-code") return `${screenWords(screen.mode)}: ${screen.code}`;
  if (screen.mode !== "transfer") shownTransfer = null;
  return screenWords(screen.mode);
}

function redraw(force = false): void {
  const frame = token.running ? token.framebuffer() : new Uint8Array((PANEL_WIDTH * PANEL_HEIGHT) / 8);
  const rtc = token.rtcSeconds();
  // Japan time, as the bank's clock beside it (issue 18, item 10).
  $<HTMLOutputElement>("token-time").value =
    rtc < 0n ? "--" : language() === "ja" ? bankDateTime(Number(rtc)) : bankDateTimeEn(Number(rtc));
  if (!force && sameBytes(frame, lastFrame)) return;
  lastFrame = frame;
  const canvas = $<HTMLCanvasElement>("token-display");
  const context = canvas.getContext("2d")!;
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = "#8fe9ff";
  for (let y = 0; y < PANEL_HEIGHT; y++) {
    for (let x = 0; x < PANEL_WIDTH; x++) if (pixel(frame, x, y)) context.fillRect(x * SCALE, y * SCALE, SCALE, SCALE);
  }
  showStatus();
}

/** The status line and the canvas's label: plain text, not a live region (it changes every second). */
function showStatus(): void {
  const text = token.running ? describe(token.screen()) : screenWords("off");
  const status = $("token-status");
  if (status.textContent !== text) status.textContent = text;
  $("token-display").setAttribute("aria-label", `${t("token.display")}: ${text}`);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Button A: down and up from the mouse, touch or keyboard; a hold is the board's (2 s of virtual time). */
function wireButton(): void {
  const button = $("token-button");
  const down = () => {
    if (button.dataset.down) return;
    button.dataset.down = "1";
    token.board.button.down();
    redraw();
  };
  const up = () => {
    if (!button.dataset.down) return;
    delete button.dataset.down;
    token.board.button.up();
    redraw();
    saveIfNeeded();
  };
  button.addEventListener("pointerdown", (event) => {
    button.setPointerCapture(event.pointerId);
    down();
  });
  button.addEventListener("pointerup", up);
  button.addEventListener("pointercancel", up);
  button.addEventListener("keydown", (event) => {
    if (event.key !== " " && event.key !== "Enter") return;
    event.preventDefault();
    if (!event.repeat) down();
  });
  button.addEventListener("keyup", (event) => {
    if (event.key !== " " && event.key !== "Enter") return;
    event.preventDefault();
    up();
  });
  button.addEventListener("blur", up);
}

function wireClock(): void {
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="speed"]')) {
    radio.addEventListener("change", () => {
      if (radio.checked) setSpeed(Number(radio.value));
    });
  }
  const drift = $<HTMLInputElement>("token-drift");
  drift.addEventListener("change", () => {
    const ppm = Number(drift.value);
    const message = $("drift-message");
    if (drift.value.trim() === "" || !Number.isFinite(ppm) || Math.abs(ppm) > MAX_DRIFT_PPM) {
      drift.setAttribute("aria-invalid", "true");
      say(message, "check.drift", "", "error");
      return;
    }
    drift.removeAttribute("aria-invalid");
    clear(message);
    step();
    token.board.rtc.setDriftPpm(ppm);
    void save();
  });
}

function setSpeed(value: number): void {
  step(); // time so far runs at the old speed
  speed = SPEEDS.includes(value as (typeof SPEEDS)[number]) ? value : 1;
  const radio = document.getElementById(`speed-${speed}`) as HTMLInputElement | null;
  if (radio) radio.checked = true;
}

function wireRegistration(): void {
  const message = $("reg-message");
  const register = $<HTMLButtonElement>("reg-register");
  const sendButton = $<HTMLButtonElement>("reg-send");
  async function send(): Promise<void> {
    clear(message);
    pendingResponse = null;
    register.disabled = true;
    // Full-width digits and letters (a Japanese input method) are the characters they stand for.
    const serviceId = typedCode($<HTMLInputElement>("reg-service-id").value);
    const userId = typedCode($<HTMLInputElement>("reg-user-id").value).toUpperCase();
    const password = $<HTMLInputElement>("reg-password").value;
    const problem = !SERVICE_ID.test(serviceId)
      ? (["reg-service-id", "check.serviceId"] as const)
      : !USER_ID.test(userId)
        ? (["reg-user-id", "check.userId"] as const)
        : !ACTIVATION_PASSWORD_PATTERN.test(password)
          ? (["reg-password", "reg.passwordHint"] as const)
          : !$<HTMLInputElement>("reg-consent").checked
            ? (["reg-consent", "reg.consentMissing"] as const)
            : null;
    if (problem) {
      say(message, problem[1], "", "error");
      $(problem[0]).focus();
      return;
    }
    let request: Uint8Array;
    try {
      request = token.link.activateBegin(serviceId, userId, password);
    } catch (error) {
      // The token's refusal in the page's language (a locked token: erase it, or the bank's help desk).
      if (error instanceof LinkError) return sayWords(message, "error.link", tokenRefusalWords(error.status, error.message));
      return say(message, "error.link", (error as Error).message, "error");
    }
    redraw();
    try {
      pendingResponse = { ...(await bank.activate(serviceId, userId, request)), serviceId, userId };
    } catch (error) {
      // A refused 送信: the token leaves its activating screen at once.
      cancelActivation();
      sayRefusal(message, refusalOf(error), "register", "reg.refused");
      return;
    }
    register.disabled = false;
    say(message, "reg.sent", "", "ok");
    register.focus();
  }
  $<HTMLFormElement>("reg-form").addEventListener("submit", (event) => {
    event.preventDefault();
    if (sendButton.disabled) return;
    sendButton.disabled = true;
    void send().finally(() => {
      sendButton.disabled = false;
    });
  });
  register.addEventListener("click", () => {
    if (!pendingResponse) return;
    const answer = pendingResponse;
    pendingResponse = null;
    register.disabled = true;
    void registerToken(answer);
  });
  // 登録: the token checks the bank's answer and stores the profile; its confirmation goes to the bank.
  async function registerToken(answer: ActivationAnswer & { serviceId: string; userId: string }): Promise<void> {
    let confirmation: Uint8Array;
    let replacing: boolean;
    try {
      ({ confirmation, replacing } = token.link.activateFinish(answer.response));
    } catch (error) {
      cancelActivation();
      // With CPace only the token can tell a wrong 利用開始パスワード: the bank's confirmation fails here.
      if (error instanceof LinkError && error.status === STATUS_BAD_TAG) {
        sayRefusal(message, wrongPasswordAtRegister(answer.attemptsLeft, token.info().activationLocked), "register", "reg.refused");
        $<HTMLInputElement>("reg-password").value = "";
        $("reg-password").focus();
      } else if (error instanceof LinkError) {
        sayWords(message, "reg.refused", tokenRefusalWords(error.status, error.message));
      } else {
        say(message, "reg.refused", (error as Error).message, "error");
      }
      saveIfNeeded();
      return;
    }
    redraw();
    saveIfNeeded();
    try {
      await bank.register(answer.serviceId, answer.userId, confirmation);
    } catch (error) {
      sayRefusal(message, refusalOf(error), "register", "reg.refused");
      return;
    }
    $<HTMLInputElement>("reg-password").value = "";
    // One profile per bank service: the token asks its holder to hold button A before replacing it.
    say(message, replacing ? "reg.replace" : "reg.registered", "", "ok");
    document.dispatchEvent(new CustomEvent("token-registered"));
  }
}

function cancelActivation(): void {
  try {
    token.link.activateCancel();
  } catch {
    // A token without power or with a failed self-test has nothing to cancel.
  }
  redraw();
}

/** What tests (and the curious, in the console) can read: the display model and the clock. */
export interface TokenHandle {
  screen(): Screen;
  serial(): string;
  rtcSeconds(): number;
  speed(): number;
  /** The profiles the token holds: the Service ID each was registered for, and its label. */
  profiles(): { serviceId: string | null; label: string }[];
  /** The transfer the token read through its sensors and shows (null when it shows none). */
  transfer(): { bankCode: string; branch: string; account: string; name?: string; amount: number } | null;
  /** True while held to the screen. */
  scanning(): boolean;
  /** The panel's framebuffer (128x32, SSD1306 page layout). */
  panel(): number[];
  ready: boolean;
}

declare global {
  interface Window {
    otpToken?: TokenHandle;
  }
}

/**
 * Runs the token in this tab once it owns it: at once when no other tab does; otherwise the page
 * says the token is in use elsewhere, writes nothing, and takes over when that tab closes. Browsers
 * without Web Locks run it at once.
 */
export async function startToken(): Promise<void> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return runToken();
  const started = await new Promise<boolean>((resolve) => {
    void locks.request("otp-token-board", { ifAvailable: true }, async (lock) => {
      if (!lock) return resolve(false);
      await runToken();
      resolve(true);
      // Held for the life of the page.
      await new Promise<never>(() => {});
    });
  });
  if (started) return;
  const notice = $("token-owner");
  notice.hidden = false;
  const status = $("token-status");
  status.removeAttribute("data-i18n");
  status.textContent = "";
  const controls = () => document.querySelectorAll<HTMLButtonElement | HTMLInputElement>("#token button, #token input");
  for (const control of controls()) control.disabled = true;
  void locks.request("otp-token-board", async () => {
    notice.hidden = true;
    for (const control of controls()) control.disabled = control.id === "reg-register";
    await runToken();
    await new Promise<never>(() => {});
  });
}

async function runToken(): Promise<void> {
  await preloadModule("token.wasm");
  const saved = await loadBoard().catch(() => undefined);
  token = newToken(saved);
  $("token-status").removeAttribute("data-i18n");
  wireButton();
  wireClock();
  wireRegistration();
  $("token-scan").addEventListener("click", () => (scanning ? stopScanning() : startScanning()));
  // Erasing asks the token, which erases only when its holder holds button A (as on the device).
  $("token-erase").addEventListener("click", () => {
    try {
      token.link.requestErase();
      say($("reg-message"), "token.eraseAsked", "", "ok");
    } catch (error) {
      if (error instanceof LinkError) sayWords($("reg-message"), "error.link", tokenRefusalWords(error.status, error.message));
    }
    redraw();
  });
  $("token-reset").addEventListener("click", async () => {
    stopScanning();
    await eraseBoard();
    token = newToken();
    pendingResponse = null;
    $<HTMLButtonElement>("reg-register").disabled = true;
    say($("reg-message"), "token.resetDone", "", "ok");
    redraw(true);
    void save();
  });
  lastWallMs = performance.now();
  redraw(true);
  void save();
  setInterval(step, STEP_MS);
  window.addEventListener("pagehide", () => void save());
  document.addEventListener("languagechange", () => showStatus());
  window.otpToken = {
    screen: () => token.screen(),
    serial: () => token.info().serial,
    rtcSeconds: () => Number(token.rtcSeconds()),
    speed: () => speed,
    profiles: () => token.link.listProfiles().map((profile) => ({ serviceId: profile.serviceId, label: profile.label })),
    transfer: () => (token.running && token.screen().mode === "transfer" ? shownTransfer : null),
    scanning: () => scanning,
    panel: () => Array.from(token.running ? token.framebuffer() : new Uint8Array(0)),
    ready: true,
  };
}
