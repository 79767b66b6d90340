// The token in the page: the real firmware (build/token.wasm, via @assemblyscript/loader) on the board
// simulator from host/board, driven by the same SimToken as the terminal simulator. Its virtual
// clock follows the wall clock times the speed control; its flash lives in IndexedDB; its panel is
// drawn on a canvas; its registration form relays the activation messages to the bank over HTTP.
import { Board } from "../host/board/board.js";
import { FLASH_SIZE_BYTES } from "../host/board/flash.js";
import { pixel, PANEL_HEIGHT, PANEL_WIDTH } from "../host/display/render.js";
import { STATUS_BAD_TAG } from "../host/abi.js";
import { LinkError } from "../host/token/link.js";
import { SimToken, type Screen } from "../host/token/sim-token.js";
import { ApiError, post } from "./api.js";
import { SERVICE_ID, USER_ID } from "./checks.js";
import { eraseBoard, loadBoard, saveBoard } from "./flash-store.js";
import { clear, say, sayError, t } from "./i18n.js";
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
/** The bank's answer to the last "send", waiting for "register". */
let pendingResponse: Uint8Array | null = null;

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
  if (ms > 0) token.advance(ms);
  redraw();
  saveIfNeeded();
}

function describe(screen: Screen): string {
  if (screen.mode === "otp") return `${screen.mode} ${screen.code} (${screen.secondsLeft} s) ${screen.label}`;
  return screen.mode;
}

function redraw(force = false): void {
  const frame = token.running ? token.framebuffer() : new Uint8Array((PANEL_WIDTH * PANEL_HEIGHT) / 8);
  const rtc = token.rtcSeconds();
  $<HTMLOutputElement>("token-time").value = rtc < 0n ? "--" : new Date(Number(rtc) * 1000).toISOString().replace(".000Z", "Z");
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
  const text = token.running ? describe(token.screen()) : "off";
  canvas.setAttribute("aria-label", `${t("token.display")}: ${text}`);
  $("token-status").textContent = text;
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
  $<HTMLFormElement>("reg-form").addEventListener("submit", (event) => {
    event.preventDefault();
    void send();
  });
  async function send(): Promise<void> {
    clear(message);
    pendingResponse = null;
    register.disabled = true;
    if (!$<HTMLInputElement>("reg-consent").checked) return say(message, "reg.consentMissing", "", "error");
    const serviceId = $<HTMLInputElement>("reg-service-id").value.trim();
    const userId = $<HTMLInputElement>("reg-user-id").value.trim().toUpperCase();
    const password = $<HTMLInputElement>("reg-password").value;
    if (!SERVICE_ID.test(serviceId)) return say(message, "check.serviceId", "", "error");
    if (!USER_ID.test(userId)) return say(message, "check.userId", "", "error");
    let request: Uint8Array;
    try {
      request = token.link.activateBegin(serviceId, userId, password);
    } catch (error) {
      return say(message, "error.link", (error as Error).message, "error");
    }
    redraw();
    try {
      const answer = await post<{ response: string }>("/api/activate", { request: toHex(request) });
      pendingResponse = fromHex(answer.response);
    } catch (error) {
      if (error instanceof ApiError) sayError(message, error.code, error.message, "reg.refused");
      else say(message, "reg.refused", (error as Error).message, "error");
      return;
    }
    register.disabled = false;
    say(message, "reg.sent", "", "ok");
    register.focus();
  }
  register.addEventListener("click", () => void registerToken());
  async function registerToken(): Promise<void> {
    if (!pendingResponse) return;
    const response = pendingResponse;
    pendingResponse = null;
    register.disabled = true;
    let confirmation: Uint8Array;
    try {
      ({ confirmation } = token.link.activateFinish(response));
    } catch (error) {
      // With CPace only the token can tell a wrong activation password: the bank's confirmation fails.
      if (error instanceof LinkError && error.status === STATUS_BAD_TAG) sayError(message, "wrong-password", error.message, "reg.refused");
      else say(message, "reg.refused", (error as Error).message, "error");
      redraw();
      saveIfNeeded();
      return;
    }
    redraw();
    saveIfNeeded();
    try {
      await post("/api/register", { confirmation: toHex(confirmation) });
    } catch (error) {
      if (error instanceof ApiError) sayError(message, error.code, error.message, "reg.refused");
      else say(message, "reg.refused", (error as Error).message, "error");
      return;
    }
    $<HTMLInputElement>("reg-password").value = "";
    say(message, "reg.registered", "", "ok");
  }
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** What tests (and the curious, in the console) can read: the display model and the clock. */
export interface TokenHandle {
  screen(): Screen;
  serial(): string;
  rtcSeconds(): number;
  speed(): number;
  ready: boolean;
}

declare global {
  interface Window {
    otpToken?: TokenHandle;
  }
}

export async function startToken(): Promise<void> {
  await preloadModule("token.wasm");
  const saved = await loadBoard().catch(() => undefined);
  token = newToken(saved);
  $("token-status").removeAttribute("data-i18n");
  wireButton();
  wireClock();
  wireRegistration();
  $("token-reset").addEventListener("click", async () => {
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
  window.otpToken = {
    screen: () => token.screen(),
    serial: () => token.info().serial,
    rtcSeconds: () => Number(token.rtcSeconds()),
    speed: () => speed,
    ready: true,
  };
}
