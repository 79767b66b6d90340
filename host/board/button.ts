// Button A. The firmware is told discrete events, not levels: "press" (released before the long-press
// time), "hold" (still down at the long-press time, fired once at that instant) and "release" (let go
// after a hold). The event codes the firmware sees are in host/abi.ts; this file only names the events.
import type { VirtualClock } from "./clock.js";

export const LONG_PRESS_MS = 2000; // ms held before "hold" fires
export const SHORT_PRESS_MS = 100; // ms a press() keeps the button down

export type ButtonEventName = "press" | "hold" | "release";

export interface ButtonConfig {
  longPressMs: number; // ms
  shortPressMs: number; // ms
}

/**
 * Hold detection is a timer on the VirtualClock: advancing the clock past the long-press time fires
 * "hold" from inside advance(), with clock.now() at exactly down time + longPressMs. Nobody has to poll.
 * The callback must not advance the clock itself (VirtualClock refuses re-entry).
 */
export class Button {
  readonly config: Readonly<ButtonConfig>;
  private downAtMs: number | undefined; // virtual ms since Unix epoch
  private holdFired = false;
  private cancelHoldTimer: (() => void) | undefined;

  constructor(
    private readonly clock: VirtualClock,
    private readonly onEvent: (event: ButtonEventName) => void,
    config: Partial<ButtonConfig> = {},
  ) {
    this.config = { longPressMs: config.longPressMs ?? LONG_PRESS_MS, shortPressMs: config.shortPressMs ?? SHORT_PRESS_MS };
    if (!(this.config.shortPressMs < this.config.longPressMs)) {
      throw new RangeError(`shortPressMs (${this.config.shortPressMs}) must be shorter than longPressMs (${this.config.longPressMs})`);
    }
  }

  get isDown(): boolean {
    return this.downAtMs !== undefined;
  }

  /** ms the button has been down, 0 when up. */
  get heldMs(): number {
    return this.downAtMs === undefined ? 0 : this.clock.now() - this.downAtMs;
  }

  /** Pushes the button. Nothing is emitted yet; a second down() while down is ignored (contact bounce). */
  down(): void {
    if (this.downAtMs !== undefined) return;
    this.downAtMs = this.clock.now();
    this.holdFired = false;
    this.cancelHoldTimer = this.clock.at(this.downAtMs + this.config.longPressMs, () => {
      this.cancelHoldTimer = undefined;
      this.holdFired = true;
      this.onEvent("hold");
    });
  }

  /** Lets go: emits "release" after a hold, otherwise "press". Ignored when already up. */
  up(): void {
    if (this.downAtMs === undefined) return;
    this.cancelHoldTimer?.();
    this.cancelHoldTimer = undefined;
    this.downAtMs = undefined;
    this.onEvent(this.holdFired ? "release" : "press");
  }

  /** A short press: down, SHORT_PRESS_MS of virtual time, up; emits "press". */
  press(): void {
    this.hold(this.config.shortPressMs);
  }

  /** Down for `ms` of virtual time, then up: "hold" fires at longPressMs if ms reaches it, else "press". */
  hold(ms: number = this.config.longPressMs): void {
    this.down();
    this.clock.advance(ms);
    this.up();
  }
}
