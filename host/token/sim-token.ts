// SimToken: the real token firmware (build/token.wasm) on a simulated board. Virtual time only: the
// caller advances it, and the token is woken exactly when the firmware asked to be.
import { BUTTON_HOLD, BUTTON_PRESS, BUTTON_RELEASE, MODE_OFF, STATUS_BAD_CHECKSUM } from "../abi.js";
import { Board, type BoardConfig } from "../board/board.js";
import type { ButtonEventName } from "../board/button.js";
import { PowerCutError } from "../board/flash.js";
import { renderFramebuffer } from "../display/render.js";
import type { LightSource } from "../board/light.js";
import { type SamplerConfig, scanUntilFrame } from "../optical/scan.js";
import { FirmwareFault, loadFirmware, type FirmwareBuild, type FirmwareExports, type HalImports } from "./firmware.js";
import { TokenLink, type ProfileInfo, type ProfileSpec, type TokenInfo } from "./link.js";
import { readScreen, type Screen, scanGesture } from "./screen.js";

export type { Screen, ScreenMode } from "./screen.js";

export interface SimTokenOptions {
  /** Which firmware build runs; default release. */
  build?: FirmwareBuild;
  /** An existing board (its flash, clock and RTC are used as they are). */
  board?: Board;
  /** Or the configuration of a new board. */
  boardConfig?: BoardConfig;
  /** A saved flash image to start from (a token that was used before). */
  flashImage?: Uint8Array;
  /** Changes the firmware's memory after loading and before boot (tests of the self-test). */
  beforeBoot?: (memory: Uint8Array) => void;
}

const EVENT_CODES: Record<ButtonEventName, number> = { press: BUTTON_PRESS, hold: BUTTON_HOLD, release: BUTTON_RELEASE };

export class SimToken {
  readonly board: Board;
  readonly build: FirmwareBuild;
  private firmware: FirmwareExports | undefined;
  private wake = 0n;
  private panelLit = false;
  private readonly beforeBoot: ((memory: Uint8Array) => void) | undefined;
  /** Status returned by the last boot(). */
  bootStatus = 0;
  /** Times the firmware faulted and the board reset it. */
  resets = 0;
  /** Ticks delivered (for the simulator's own statistics). */
  ticks = 0;
  readonly link: TokenLink;

  constructor(options: SimTokenOptions = {}) {
    this.build = options.build ?? "release";
    this.board = options.board ?? new Board(options.boardConfig);
    if (options.flashImage) this.board.flash.load(options.flashImage);
    this.beforeBoot = options.beforeBoot;
    // A dead CPU (after a power cut) sees no button events.
    this.board.onButton((event) => {
      if (this.firmware) this.deliver(() => this.exports().button(EVENT_CODES[event]));
    });
    this.link = new TokenLink((frame) => this.transact(frame));
    // The panel and each wake-up draw on the battery (the board charges flash and sleep current itself).
    this.board.clock.onAdvance((fromMs, toMs) => {
      if (this.panelLit) this.board.battery.consume({ displayOnMs: toMs - fromMs });
    });
    // The board is powered as it comes (a power cut armed on its flash stays armed for this boot).
    if (this.board.hasMainPower) this.boot();
  }

  /** True while the firmware runs (false after a power cut, until powerOn()). */
  get running(): boolean {
    return this.firmware !== undefined;
  }

  private exports(): FirmwareExports {
    if (!this.firmware) throw new Error("the token has no power: call powerOn()");
    return this.firmware;
  }

  /**
   * Runs a firmware entry point that returns the next wake-up time. A power cut stops the firmware
   * where it was (the instance is dropped, as the CPU would be); a fault resets and reboots it.
   */
  private deliver(call: () => bigint | number): void {
    try {
      const next = call();
      this.wake = typeof next === "bigint" ? next : this.exports().wakeAt();
      this.board.battery.consume({ wakeups: 1 });
      this.panelLit = this.readMode() !== MODE_OFF;
    } catch (error) {
      if (error instanceof PowerCutError) {
        this.firmware = undefined;
        this.wake = 0n;
        this.panelLit = false;
        return;
      }
      if (error instanceof FirmwareFault) {
        this.resets++;
        this.boot();
        return;
      }
      throw error;
    }
  }

  /** Main power on: load the firmware and boot it. */
  powerOn(): void {
    this.board.powerOn();
    this.boot();
  }

  private boot(): void {
    this.firmware = loadFirmware(this.build, (memory) => this.board.halImports(memory) as unknown as HalImports);
    this.beforeBoot?.(new Uint8Array(this.firmware.memory.buffer));
    this.wake = 0n;
    this.deliver(() => {
      this.bootStatus = this.exports().boot();
      return this.exports().wakeAt();
    });
  }

  /** Main power off (the RTC keeps time on its backup cell, if it has one). */
  powerOff(): void {
    this.board.powerOff();
    this.firmware = undefined;
    this.wake = 0n;
    this.panelLit = false;
  }

  powerCycle(): void {
    this.powerOff();
    this.powerOn();
  }

  /** Cuts power after `operations` more flash operations (the next one is torn). */
  cutPowerAfter(operations: number, mode: "clean" | "torn" = "torn"): void {
    this.board.flash.cutPowerAfter(operations, mode);
  }

  private transact(frame: Uint8Array): Uint8Array {
    const e = this.exports();
    if (frame.length > e.LINK_SIZE) throw new RangeError(`link frame of ${frame.length} bytes exceeds ${e.LINK_SIZE}`);
    const buffer = new Uint8Array(e.memory.buffer, e.LINK_BUFFER, e.LINK_SIZE);
    buffer.set(frame);
    let length = 0;
    this.deliver(() => {
      length = e.link(frame.length);
      return e.wakeAt();
    });
    if (!this.firmware) throw new PowerCutError("power was cut while the token handled the link command");
    return buffer.slice(0, length);
  }

  // Factory programming over the link.
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

  /** Erases every profile, button A held when the token asks (as its holder would). */
  erase(): void {
    this.link.eraseConfirmed(() => this.hold());
  }

  /** Deletes profile `index`, button A held when the token asks (as its holder would). */
  deleteProfile(index: number): void {
    this.link.deleteConfirmed(index, () => this.hold());
  }

  profiles(): ProfileInfo[] {
    return this.link.listProfiles();
  }

  info(): TokenInfo {
    return this.link.info();
  }

  /** Button A: a short press (100 ms). */
  press(): void {
    this.hold(this.board.button.config.shortPressMs);
  }

  /** Button A held for `ms` (a hold fires at 2 s), with the token ticking meanwhile. */
  hold(ms = 2500): void {
    this.board.button.down();
    this.advance(ms);
    this.board.button.up();
  }

  /**
   * Advances virtual time by `ms`, calling tick() each time the RTC reaches the wake-up time the
   * firmware asked for.
   */
  advance(ms: number): void {
    const clock = this.board.clock;
    const end = clock.now() + ms;
    while (clock.now() < end) {
      if (!this.firmware || this.wake <= 0n) {
        clock.set(end);
        break;
      }
      const due = this.board.rtc.msUntil(this.wake);
      if (due === undefined || clock.now() + due > end) {
        clock.set(end);
        break;
      }
      clock.advance(due);
      // A button event on the way (a hold) may have moved the wake-up time or cut the power: look again.
      if (!this.firmware || this.board.rtc.nowSeconds() < this.wake) continue;
      this.ticks++;
      this.deliver(() => this.exports().tick());
    }
  }

  /** The token is in scan mode: its firmware powered the light sensors (lightPower) and the board samples them. */
  get scanning(): boolean {
    return this.board.light.powered;
  }

  /** The holder's gesture for scan mode (screen.ts, scanGesture). Returns whether the token scans. */
  startScanning(): boolean {
    if (this.scanning) return true;
    scanGesture(this);
    return this.scanning;
  }

  /**
   * Holds the token to a flickering page (`light`: what its five sensors see) and runs its sampling
   * timer until the firmware takes a sound frame or `maxMs` pass, after the holder's gesture for scan
   * mode (startScanning) if it is not scanning. Returns scan()'s last verdict: a frame's length,
   * STATUS_BAD_TRANSACTION or STATUS_DENIED, or 0 if no frame arrived.
   */
  scanPage(light: LightSource, maxMs: number, sampler: Partial<SamplerConfig> = {}): number {
    const firmware = this.exports();
    if (!this.startScanning()) return 0;
    this.board.light.aim(light);
    try {
      const result = scanUntilFrame(firmware, this.board, maxMs, sampler);
      if (result.payload === undefined) return 0;
      this.deliver(() => firmware.wakeAt());
      return result.refused ?? result.payload?.length ?? 0;
    } finally {
      this.board.light.aim(undefined);
    }
  }

  /**
   * One tick of the sampling timer in real time (the browser token held to the page), while the token
   * is in scan mode (else nothing: the board's timer is stopped): the firmware reads its light sensors
   * once (scan()). Returns scan()'s verdict and, when a sound frame arrived
   * (taken or refused), its payload as the decoder left it; the token then shows what it took.
   */
  scanSample(): { verdict: number; payload?: Uint8Array } {
    const firmware = this.exports();
    if (!this.scanning) return { verdict: 0 };
    const verdict = firmware.scan();
    if (verdict === 0 || verdict === STATUS_BAD_CHECKSUM) return { verdict };
    const memory = new Uint8Array(firmware.memory.buffer);
    const length = memory[firmware.OPTICAL_FRAME];
    const payload = memory.slice(firmware.OPTICAL_FRAME + 2, firmware.OPTICAL_FRAME + 2 + length);
    this.deliver(() => firmware.wakeAt());
    return { verdict, payload };
  }

  /** The current Unix time on the token's RTC (-1 if lost). */
  rtcSeconds(): bigint {
    return this.board.rtc.nowSeconds();
  }

  private readMode(): number {
    const e = this.exports();
    return new DataView(e.memory.buffer, e.DISPLAY_MODEL, 4).getUint32(0, true);
  }

  screen(): Screen {
    const e = this.exports();
    return readScreen(new Uint8Array(e.memory.buffer, e.DISPLAY_MODEL, e.DISPLAY_MODEL_SIZE));
  }

  /** A copy of the 128x32 framebuffer (SSD1306 page layout). */
  framebuffer(): Uint8Array {
    const e = this.exports();
    return new Uint8Array(e.memory.buffer, e.FRAMEBUFFER, e.FRAMEBUFFER_SIZE).slice();
  }

  /** The panel as terminal text (Unicode half blocks, or quadrants when `compact`: 64 columns), framed. */
  render(options: { compact?: boolean } = {}): string {
    return renderFramebuffer(this.firmware ? this.framebuffer() : new Uint8Array(512), { border: true, compact: options.compact });
  }

  /** Compression-function calls so far (debug build; -1 in release). */
  compressionCount(): number {
    return this.exports().compressionCount();
  }

  /** The firmware's memory size in bytes (it never grows). */
  memoryBytes(): number {
    return this.exports().memory.buffer.byteLength;
  }

  flashImage(): Uint8Array {
    return this.board.flash.image();
  }
}
