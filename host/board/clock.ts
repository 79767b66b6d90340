// The board's master virtual time. Every simulated peripheral reads time from here and nothing in
// host/board reads the wall clock, so a test can jump five years in one call and get the same result on
// every machine (avr8js drives its peripherals from the CPU cycle count for the same reason).

/** Called with the time (ms since Unix epoch) before and after each forward move of the clock. */
export type AdvanceListener = (fromMs: number, toMs: number) => void;

export interface VirtualClockConfig {
  startMs?: number; // ms since Unix epoch; default 0
}

interface Timer {
  dueMs: number; // ms since Unix epoch
  order: number; // insertion order, so timers due at the same ms fire first-come first-served
  callback: () => void;
}

/**
 * Virtual milliseconds since the Unix epoch as a plain number (exact up to 2^53 ms, ~285,000 years).
 * Time only moves forward: the token's own view of time is the RTC, which a test can set to anything.
 */
export class VirtualClock {
  private nowMs: number;
  private timers: Timer[] = [];
  private nextOrder = 0;
  private listeners: AdvanceListener[] = [];
  private moving = false;

  constructor(config: VirtualClockConfig = {}) {
    const startMs = config.startMs ?? 0;
    checkMs("startMs", startMs);
    this.nowMs = startMs;
  }

  /** The virtual time, ms since Unix epoch. */
  now(): number {
    return this.nowMs;
  }

  /**
   * Moves time forward by `ms`. Timers due on the way fire in time order with now() equal to their
   * due time, so an event (a button hold) is seen at the instant it happens, not at the end of the jump.
   */
  advance(ms: number): void {
    checkMs("advance(ms)", ms);
    this.moveTo(this.nowMs + ms);
  }

  /** Jumps forward to `ms` (since Unix epoch), firing timers on the way like advance(). */
  set(ms: number): void {
    checkMs("set(ms)", ms);
    if (ms < this.nowMs) {
      throw new RangeError(
        `virtual time only moves forward: set(${ms}) is before now (${this.nowMs}); set the RTC instead to change what the token believes`,
      );
    }
    this.moveTo(ms);
  }

  /** Runs `callback` when virtual time reaches `dueMs`; returns a function that cancels it. */
  at(dueMs: number, callback: () => void): () => void {
    checkMs("at(dueMs)", dueMs);
    const timer: Timer = { dueMs: Math.max(dueMs, this.nowMs), order: this.nextOrder++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Runs `callback` after every forward move (the battery's sleep current uses it). Returns an unsubscribe. */
  onAdvance(listener: AdvanceListener): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private moveTo(targetMs: number): void {
    // A callback that moved the clock itself would interleave two timelines; refuse it loudly.
    if (this.moving) throw new Error("the virtual clock was advanced from inside one of its own callbacks");
    this.moving = true;
    try {
      for (;;) {
        const next = this.nextTimerDue(targetMs);
        if (!next) break;
        this.timers = this.timers.filter((t) => t !== next);
        this.step(next.dueMs);
        next.callback();
      }
      this.step(targetMs);
    } finally {
      this.moving = false;
    }
  }

  private nextTimerDue(limitMs: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.dueMs > limitMs) continue;
      if (!best || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.order < best.order)) best = t;
    }
    return best;
  }

  private step(toMs: number): void {
    const fromMs = this.nowMs;
    if (toMs === fromMs) return;
    this.nowMs = toMs;
    for (const listener of [...this.listeners]) listener(fromMs, toMs);
  }
}

function checkMs(what: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0) {
    throw new RangeError(`${what} must be a whole, non-negative number of milliseconds below 2^53, got ${ms}`);
  }
}
