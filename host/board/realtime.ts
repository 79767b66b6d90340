// The one place in host/board that reads the wall clock, for front ends that want the simulated token
// to keep real time (npm start). Tests and the default board never use it: virtual time is the rule.
import type { VirtualClock } from "./clock.js";

export class RealTimeSource {
  private readonly wallNow: () => number; // wall-clock ms since Unix epoch
  private lastWallMs: number; // wall-clock ms at the last sync

  /**
   * `wallNow` defaults to Date.now; with `startAtWallTime` the virtual clock first jumps to the wall
   * time (only if that is later, since virtual time never goes back).
   */
  constructor(
    private readonly clock: VirtualClock,
    options: { startAtWallTime?: boolean; wallNow?: () => number } = {},
  ) {
    this.wallNow = options.wallNow ?? (() => Date.now());
    this.lastWallMs = this.wallNow();
    if (options.startAtWallTime && this.lastWallMs > clock.now()) clock.set(this.lastWallMs);
  }

  /** Advances the virtual clock by the wall time elapsed since the last sync; returns the ms advanced. */
  sync(): number {
    const wallMs = this.wallNow();
    // A wall clock stepped backwards (NTP) just pauses virtual time instead of rewinding it.
    const elapsedMs = Math.max(0, Math.floor(wallMs - this.lastWallMs));
    this.lastWallMs = wallMs;
    if (elapsedMs > 0) this.clock.advance(elapsedMs);
    return elapsedMs;
  }
}
