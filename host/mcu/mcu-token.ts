// McuToken: the unmodified build/token.wasm, translated to C by wasm2c and running on an emulated
// nRF51822 (QEMU's `microbit` machine, Cortex-M0, 16 KiB RAM), driven like SimToken: the same link
// (TokenLink) over the UART, the same button, the same screen and framebuffer read back, virtual time
// paced by the host. Everything is synchronous, so scenario code runs unchanged against either board.
//
//   const token = new McuToken();              // boots build/mcu/token-harness.elf in QEMU
//   token.addProfile({ seed, label: "BANK" });
//   token.press();
//   token.screen().code;                       // the code the M0 computed and drew
//   token.close();                             // or `using token = new McuToken()`
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FLASH_PAGE_BYTES, FLASH_SIZE_BYTES, STATUS_BAD_CHECKSUM } from "../abi.js";
import { DEFAULT_BOARD_START_MS } from "../board/board.js";
import { SHORT_PRESS_MS } from "../board/button.js";
import { renderFramebuffer } from "../display/render.js";
import { TokenLink, type ProfileInfo, type ProfileSpec, type TokenInfo } from "../token/link.js";
import { readScreen, type Screen, scanGesture } from "../token/screen.js";
import { buildDir } from "../wasm.js";
import { decodeMeter, ICOUNT_SHIFT, type Meter, ticksToInstructions } from "./meter.js";
import {
  BOOT_FAULT,
  FRAME_ADVANCE,
  FRAME_FAULT,
  FRAME_BATTERY,
  FRAME_BOOTED,
  FRAME_BUTTON,
  FRAME_ERROR,
  FRAME_ERROR_RANGE,
  FRAME_ERROR_STATE,
  FRAME_ERROR_TOO_LONG,
  FRAME_ERROR_UNKNOWN,
  FRAME_FLASH_READ,
  FRAME_FLASH_WRITE,
  FRAME_GO,
  FRAME_HELLO,
  FRAME_LINK,
  FRAME_METER,
  FRAME_NAMES,
  FRAME_RTC,
  FRAME_SCAN,
  FRAME_SCREEN,
  IMAGE_HARNESS,
} from "./protocol.js";
import { QemuBoard, qemuMissing } from "./qemu.js";

/** What scanning a recorded sample stream did on the M0 (McuToken.scan). */
export interface McuScanResult {
  /** scan()'s last answer: a sound frame's length, a refusal (negative), or 0 / STATUS_BAD_CHECKSUM if the stream ran out first. */
  status: number;
  /** Samples the M0 took (the stream past a sound frame is dropped). */
  samples: number;
  /** Instructions of the decoding samples' scan() calls (the HAL's included), in all and the largest one. */
  instructions: number;
  worstInstructions: number;
  /** Instructions of the sample that took a sound frame (checked, kept, drawn and sent to the panel); 0 if none. */
  frameInstructions: number;
  /** Sound frames that failed their CRC-32 on the way. */
  checksumFailures: number;
}

/** Sensor masks per FRAME_SCAN (within FRAME_MAX_PAYLOAD). */
const SCAN_CHUNK = 1024;

/** The images scripts/build-mcu.js links. */
export const MCU_IMAGES = {
  release: "token-harness.elf",
  debug: "token-debug-harness.elf",
  product: "token-qemu.elf",
} as const;
export type McuImage = keyof typeof MCU_IMAGES;

/** build/mcu/, where the ELF files are. */
export function mcuBuildDir(): string {
  return join(buildDir(), "mcu");
}

/** Why the emulated token cannot run here (QEMU or the images missing), or undefined when it can. */
export function mcuUnavailable(): string | undefined {
  const qemu = qemuMissing();
  if (qemu) return `${qemu}; .ci/run installs it`;
  for (const elf of Object.values(MCU_IMAGES)) {
    if (!existsSync(join(mcuBuildDir(), elf))) {
      return `build/mcu/${elf} was not built (npm run build needs wabt, gcc-arm-none-eabi and libnewlib-arm-none-eabi; .ci/run installs them)`;
    }
  }
  return undefined;
}

export interface McuTokenOptions {
  /** release / debug: token.wasm / token.debug.wasm with the bench commands; product: token-qemu.elf (the product image built for QEMU), link only. Default release. */
  image?: McuImage;
  /** The token's flash (FLASH_SIZE_BYTES) at power-on; default erased. Harness images only. */
  flashImage?: Uint8Array;
  /** What the battery-backed RTC reads at power-on (s since Unix epoch); null: never set. Default 2025-01-01. */
  startSeconds?: bigint | number | null;
  /** The battery voltage the HAL reports (mV). */
  batteryMillivolts?: number;
  /** How long to wait for one reply before giving up (ms of wall time); default 120 s. */
  timeoutMs?: number;
  /** More QEMU arguments (npm run bench loads its instruction-mix plugin with them). */
  qemuArgs?: string[];
}

/** The emulated token misbehaved: it did not answer, refused a frame, or QEMU failed. */
export class McuError extends Error {
  override name = "McuError";
}

const ERROR_TEXT: Record<number, string> = {
  [FRAME_ERROR_UNKNOWN]: "unknown frame type",
  [FRAME_ERROR_TOO_LONG]: "frame too long",
  [FRAME_ERROR_STATE]: "not in this state",
  [FRAME_ERROR_RANGE]: "bad length or range",
};

interface Frame {
  type: number;
  payload: Uint8Array;
}

/** What boot() returned and why the firmware booted. */
export interface BootReport {
  status: number;
  afterFault: boolean;
  faultCause: number;
  faultDetail: number;
}

export class McuToken {
  readonly image: McuImage;
  readonly link: TokenLink;
  /** Status returned by the last boot(). */
  bootStatus = 0;
  /** Times the firmware faulted and the board reset it. */
  resets = 0;
  /** The last boot's report (after a fault: the fault's cause). */
  lastBoot: BootReport | undefined;
  private board: QemuBoard | undefined;
  private readonly timeoutMs: number;
  private readonly qemuArgs: string[];
  private clockHz = 0;
  /** The harness clock's tick up to which the host has let time run. */
  private fence = 0n;
  private fenceRemainder = 0n; // ms x clockHz not yet a whole tick
  private rtc = -1n;
  private batteryMillivolts: number | undefined;

  constructor(options: McuTokenOptions = {}) {
    this.image = options.image ?? "release";
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.qemuArgs = options.qemuArgs ?? [];
    this.batteryMillivolts = options.batteryMillivolts;
    this.link = new TokenLink((frame) => this.transact(frame));
    const start =
      options.startSeconds === undefined
        ? BigInt(DEFAULT_BOARD_START_MS / 1000)
        : options.startSeconds === null
          ? null
          : BigInt(options.startSeconds);
    this.powerOn(options.flashImage, start);
  }

  /** True while QEMU runs the token. */
  get running(): boolean {
    return this.board?.alive() ?? false;
  }

  /** The process group of the running QEMU (diagnostics). */
  get qemuProcessGroup(): number | undefined {
    return this.board?.processGroup;
  }

  private get harness(): boolean {
    return this.image !== "product";
  }

  private powerOn(flashImage: Uint8Array | undefined, startSeconds: bigint | null): void {
    if (flashImage !== undefined && flashImage.length !== FLASH_SIZE_BYTES) {
      throw new RangeError(`flash image must be ${FLASH_SIZE_BYTES} bytes, got ${flashImage.length}`);
    }
    if (!this.harness && (flashImage !== undefined || this.batteryMillivolts !== undefined)) {
      throw new RangeError("the product image (token-qemu.elf) takes no flash image or battery voltage: use a harness image");
    }
    this.board = new QemuBoard({
      elf: join(mcuBuildDir(), MCU_IMAGES[this.image]),
      icountShift: ICOUNT_SHIFT,
      // Harness: the host paces the clock, so sleeping costs no wall time. Product: the clock runs
      // freely, in real time while the CPU sleeps.
      sleep: !this.harness,
      extraArgs: this.qemuArgs,
    });
    try {
      const hello = this.receive();
      if (hello.type !== FRAME_HELLO) throw new McuError(`the token said ${this.describe(hello)} first, expected HELLO`);
      const view = new DataView(hello.payload.buffer, hello.payload.byteOffset, hello.payload.byteLength);
      if ((view.getUint8(0) === IMAGE_HARNESS) !== this.harness) {
        throw new McuError(`${MCU_IMAGES[this.image]} is ${this.harness ? "not " : ""}a harness image: rebuild with npm run build`);
      }
      this.clockHz = view.getUint32(1, true);
      this.fence = 0n;
      this.fenceRemainder = 0n;
      if (this.harness) {
        const image = flashImage ?? new Uint8Array(FLASH_SIZE_BYTES).fill(0xff);
        for (let page = 0; page < FLASH_SIZE_BYTES / FLASH_PAGE_BYTES; page++) {
          const payload = new Uint8Array(1 + FLASH_PAGE_BYTES);
          payload[0] = page;
          payload.set(image.subarray(page * FLASH_PAGE_BYTES, (page + 1) * FLASH_PAGE_BYTES), 1);
          this.request(FRAME_FLASH_WRITE, payload);
        }
        if (startSeconds !== null) {
          const rtc = new Uint8Array(8);
          new DataView(rtc.buffer).setBigInt64(0, startSeconds, true);
          this.request(FRAME_RTC, rtc);
        }
        if (this.batteryMillivolts !== undefined) this.setBatteryMillivolts(this.batteryMillivolts);
        this.send(FRAME_GO, new Uint8Array(0));
      }
      this.awaitBoot();
      if (this.harness) this.advance(0);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  /**
   * Stops QEMU. The token object is unusable afterwards (restart() brings it back). `graceful` lets
   * QEMU shut down by itself first (its plugins write their results then).
   */
  close(graceful = false): void {
    this.board?.stop(graceful);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Stops QEMU and starts it again with the token's flash as it was and its RTC where it was (the
   * battery-backed board kept both; only the emulator stopped).
   */
  restart(): void {
    const image = this.flashImage();
    const seconds = this.rtcSeconds();
    this.close();
    this.powerOn(image, seconds >= 0n ? seconds : null);
  }

  // ---- Frames ----

  private boardOrThrow(): QemuBoard {
    if (!this.board?.alive()) throw new McuError(`the emulated token is not running${this.board ? this.qemuSays() : ""}`);
    return this.board;
  }

  private qemuSays(): string {
    const log = this.board?.log();
    return log ? ` (QEMU: ${log.split("\n").slice(-3).join(" / ")})` : "";
  }

  private send(type: number, payload: Uint8Array): void {
    const frame = new Uint8Array(3 + payload.length);
    frame[0] = type;
    frame[1] = payload.length & 0xff;
    frame[2] = payload.length >> 8;
    frame.set(payload, 3);
    this.boardOrThrow().write(frame);
  }

  private readExactly(length: number, deadline: number, what: string): Uint8Array {
    const board = this.boardOrThrow();
    const bytes = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = board.read(bytes, got, length - got, deadline);
      if (n === 0) {
        const why = board.alive() ? `no answer within ${this.timeoutMs / 1000} s` : `QEMU exited${this.qemuSays()}`;
        throw new McuError(`the emulated token stopped while ${what}: ${why}`);
      }
      got += n;
    }
    return bytes;
  }

  private receive(what = "starting"): Frame {
    const deadline = Date.now() + this.timeoutMs;
    const header = this.readExactly(3, deadline, what);
    const payload = this.readExactly(header[1] | (header[2] << 8), deadline, what);
    return { type: header[0], payload };
  }

  private describe(frame: Frame): string {
    return FRAME_NAMES[frame.type] ?? `frame type 0x${frame.type.toString(16)}`;
  }

  private noteBoot(frame: Frame): BootReport {
    const view = new DataView(frame.payload.buffer, frame.payload.byteOffset, frame.payload.byteLength);
    const report = {
      status: view.getInt32(0, true),
      afterFault: view.getUint8(4) === BOOT_FAULT,
      faultCause: view.getUint32(5, true),
      faultDetail: view.getUint32(9, true),
    };
    this.bootStatus = report.status;
    this.lastBoot = report;
    if (report.afterFault) this.resets++;
    return report;
  }

  private awaitBoot(): void {
    const frame = this.receive("booting");
    if (frame.type !== FRAME_BOOTED) throw new McuError(`the token said ${this.describe(frame)} while booting, expected BOOTED`);
    this.noteBoot(frame);
  }

  /**
   * Sends a frame and returns its reply, or undefined when the firmware faulted on the way (the board
   * reset and booted again: FRAME_BOOTED came instead of the reply).
   */
  private request(type: number, payload: Uint8Array): Uint8Array | undefined {
    this.send(type, payload);
    const what = `answering ${FRAME_NAMES[type]}`;
    for (;;) {
      const frame = this.receive(what);
      if (frame.type === type) return frame.payload;
      if (frame.type === FRAME_HELLO) continue; // the reset's first word; BOOTED follows
      if (frame.type === FRAME_BOOTED) {
        this.noteBoot(frame);
        return undefined;
      }
      if (frame.type === FRAME_ERROR) {
        if (type === FRAME_LINK && frame.payload[1] === FRAME_ERROR_TOO_LONG) {
          throw new RangeError(`link frame of ${payload.length} bytes exceeds the token's link buffer`);
        }
        throw new McuError(
          `the token refused ${FRAME_NAMES[frame.payload[0]] ?? frame.payload[0]}: ${ERROR_TEXT[frame.payload[1]] ?? frame.payload[1]}`,
        );
      }
      throw new McuError(`the token said ${this.describe(frame)} while ${what}`);
    }
  }

  private requireHarness(what: string): void {
    if (!this.harness) throw new McuError(`${what} needs a harness image; the product image (token-qemu.elf) only speaks the link`);
  }

  /** One link command frame in, its response out (the TokenLink transport). A fault answers nothing. */
  private transact(frame: Uint8Array): Uint8Array {
    return this.request(FRAME_LINK, frame) ?? new Uint8Array(0);
  }

  // ---- The SimToken surface ----

  setClock(unixSeconds: number | bigint): void {
    this.link.setTime(unixSeconds);
  }

  /** The link's ADD_PROFILE: the index, or null while the token waits for its holder's hold. */
  addProfile(spec: ProfileSpec): number | null {
    return this.link.addProfile(spec);
  }

  /**
   * Adds a profile as its holder would: when the token asks (it already holds a profile), button A
   * is held. Returns the new profile's index; throws when it was not stored.
   */
  addProfileConfirmed(spec: ProfileSpec): number {
    return this.link.addProfileConfirmed(spec, () => this.hold());
  }

  profiles(): ProfileInfo[] {
    return this.link.listProfiles();
  }

  info(): TokenInfo {
    return this.link.info();
  }

  /**
   * Lets `ms` of virtual time pass on the token's clock; every wake-up the firmware asked for on the
   * way is delivered on time (the M0 sleeps between them).
   */
  advance(ms: number): void {
    this.requireHarness("advance()");
    if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`advance() takes whole ms, 0 or more, got ${ms}`);
    // Ticks of clockHz per ms, carried exactly: 1 ms is 31.25 ticks of the 31,250 Hz clock.
    const scaled = BigInt(ms) * BigInt(this.clockHz) + this.fenceRemainder;
    this.fence += scaled / 1000n;
    this.fenceRemainder = scaled % 1000n;
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setBigUint64(0, this.fence, true);
    for (;;) {
      const reply = this.request(FRAME_ADVANCE, payload);
      // After a fault the clock kept its place: ask again for the same instant.
      if (reply === undefined) continue;
      this.rtc = new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getBigInt64(8, true);
      return;
    }
  }

  buttonDown(): void {
    this.requireHarness("the button");
    this.request(FRAME_BUTTON, Uint8Array.of(1));
  }

  buttonUp(): void {
    this.requireHarness("the button");
    this.request(FRAME_BUTTON, Uint8Array.of(0));
  }

  /** Button A: a short press (100 ms, as on the simulated board). */
  press(): void {
    this.hold(SHORT_PRESS_MS);
  }

  /** Button A held for `ms` (a hold fires at 2 s), the token ticking meanwhile. */
  hold(ms = 2500): void {
    this.buttonDown();
    this.advance(ms);
    this.buttonUp();
  }

  /** The Unix time the token's RTC read when the host last let time pass (-1 if lost). */
  rtcSeconds(): bigint {
    if (this.harness) this.advance(0);
    else this.rtc = this.info().rtcSeconds;
    return this.rtc;
  }

  setBatteryMillivolts(millivolts: number): void {
    this.requireHarness("setting the battery");
    if (!Number.isSafeInteger(millivolts) || millivolts < 0 || millivolts > 0xffff) {
      throw new RangeError(`battery voltage must be whole mV from 0 to 65535, got ${millivolts}`);
    }
    const payload = new Uint8Array(2);
    new DataView(payload.buffer).setUint16(0, millivolts, true);
    this.request(FRAME_BATTERY, payload);
    this.batteryMillivolts = millivolts;
  }

  /** FRAME_SCREEN's reply: the display model's size (u16), the model, the framebuffer. */
  private screenBytes(): { model: Uint8Array; framebuffer: Uint8Array } {
    this.requireHarness("reading the screen");
    const reply = this.request(FRAME_SCREEN, new Uint8Array(0));
    if (reply === undefined) throw new McuError("the token reset while the screen was read");
    const modelBytes = reply[0] | (reply[1] << 8);
    return { model: reply.slice(2, 2 + modelBytes), framebuffer: reply.slice(2 + modelBytes) };
  }

  /** The display model the M0's firmware drew the framebuffer from. */
  screen(): Screen {
    return readScreen(this.screenBytes().model);
  }

  /** The 128x32 framebuffer (SSD1306 page layout) as the M0 holds it. */
  framebuffer(): Uint8Array {
    return this.screenBytes().framebuffer;
  }

  /** The panel as terminal text (Unicode half blocks), framed. */
  render(): string {
    return renderFramebuffer(this.framebuffer(), { border: true });
  }

  /** The token's flash pages (FLASH_SIZE_BYTES), read back from the nRF51's flash. */
  flashImage(): Uint8Array {
    this.requireHarness("reading the flash");
    const image = new Uint8Array(FLASH_SIZE_BYTES);
    for (let offset = 0; offset < FLASH_SIZE_BYTES; offset += FLASH_PAGE_BYTES) {
      const payload = new Uint8Array(4);
      const view = new DataView(payload.buffer);
      view.setUint16(0, offset, true);
      view.setUint16(2, FLASH_PAGE_BYTES, true);
      const reply = this.request(FRAME_FLASH_READ, payload);
      if (reply === undefined || reply.length !== FLASH_PAGE_BYTES) throw new McuError("the token reset while its flash was read");
      image.set(reply, offset);
    }
    return image;
  }

  /**
   * Runs the board's fault path as a WebAssembly trap would (the same function the generated code
   * calls): the CPU resets, the RTC keeps time, the firmware boots again from its flash.
   */
  fault(): BootReport {
    this.requireHarness("fault()");
    if (this.request(FRAME_FAULT, new Uint8Array(0)) !== undefined) throw new McuError("the token answered FAULT instead of resetting");
    return this.lastBoot!;
  }

  /**
   * The holder's gesture for scan mode on button A (screen.ts, scanGesture): the firmware powers the
   * sensors (P0.08) and starts the sampling timer itself. Returns whether the panel says SCAN.
   */
  startScanning(): boolean {
    this.requireHarness("the button");
    return scanGesture(this);
  }

  /**
   * Holds the token to a flickering page: `masks` are the five sensors' comparator outputs at each
   * tick of the sampling timer (host/optical/scan.ts recordSamples), fed to the M0's sensor pins one
   * per tick while it samples in scan mode, until a sound frame (taken or refused: scan mode ends) or
   * the stream's end. The token must be in scan mode (startScanning: the harness refuses otherwise).
   * The token's clock stands still meanwhile (time passes with advance()).
   */
  scan(masks: Uint8Array): McuScanResult {
    this.requireHarness("scan()");
    const result: McuScanResult = {
      status: 0,
      samples: 0,
      instructions: 0,
      worstInstructions: 0,
      frameInstructions: 0,
      checksumFailures: 0,
    };
    for (let at = 0; at < masks.length; at += SCAN_CHUNK) {
      const reply = this.request(FRAME_SCAN, masks.subarray(at, at + SCAN_CHUNK));
      if (reply === undefined || reply.length !== 24) throw new McuError("the token reset while it scanned");
      const view = new DataView(reply.buffer, reply.byteOffset, reply.byteLength);
      result.status = view.getInt32(0, true);
      result.samples += view.getUint32(4, true);
      result.instructions += ticksToInstructions(view.getUint32(8, true));
      result.worstInstructions = Math.max(result.worstInstructions, ticksToInstructions(view.getUint32(12, true)));
      result.checksumFailures += view.getUint32(16, true);
      result.frameInstructions = ticksToInstructions(view.getUint32(20, true));
      if (result.status !== 0 && result.status !== STATUS_BAD_CHECKSUM) break;
    }
    return result;
  }

  /** What the last firmware entry point (and the boot) cost on the M0. */
  meter(): Meter {
    this.requireHarness("the meter");
    const reply = this.request(FRAME_METER, new Uint8Array(0));
    if (reply === undefined) throw new McuError("the token reset while the meter was read");
    return decodeMeter(reply);
  }
}
