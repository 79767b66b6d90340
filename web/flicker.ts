// The 取引認証 screen's flicker code (docs/transaction-signing.md, "The optical channel"): the frame
// the bank answered, drawn on a canvas as five bars, the clock bar first (left) and the four data
// bars after it, one nibble per clock level, repeated for as long as the screen shows. The page's
// slower/faster buttons change the levels a second (10 to 30, 20 at first), as the banks' flicker
// pages do. A level is never skipped: when the browser is late with a frame, the flicker slows
// rather than jumps (a skipped level is a lost nibble, and the token would wait for the next
// repetition). The frame comes from the canvas's data-frame attribute (the frame's hex text), read at
// every level, so what is drawn is always what the page holds.
import { frameNibbles, levelMask, parseFrameText } from "../host/optical/frame.js";

/** Levels a second the page offers, slowest first; DEFAULT_RATE is where it starts. */
export const FLICKER_RATES = [10, 15, 20, 25, 30] as const;
const DEFAULT_RATE = 20;

export class Flicker {
  private rate: number = DEFAULT_RATE;
  private text = "";
  private nibbles: number[] = [];
  private level = -1;
  private startMs = 0;
  private running = false;

  constructor(private readonly canvas: HTMLCanvasElement) {}

  /** Levels a second now. */
  get levelsPerSecond(): number {
    return this.rate;
  }

  /** Shows `frameText` (the bank's frame as hex) and starts flickering. */
  show(frameText: string): void {
    this.canvas.dataset.frame = frameText;
    if (this.running) return;
    this.running = true;
    requestAnimationFrame(() => this.draw());
  }

  stop(): void {
    this.running = false;
    delete this.canvas.dataset.frame;
    this.text = "";
    this.paint(0);
  }

  /** One step slower (-1) or faster (+1); the level showing stays where it is. */
  changeSpeed(direction: -1 | 1): number {
    const index = FLICKER_RATES.indexOf(this.rate as (typeof FLICKER_RATES)[number]);
    this.rate = FLICKER_RATES[Math.min(Math.max(index + direction, 0), FLICKER_RATES.length - 1)];
    this.startMs = performance.now() - Math.max(this.level, 0) * (1000 / this.rate);
    return this.rate;
  }

  private draw(): void {
    if (!this.running) return;
    requestAnimationFrame(() => this.draw());
    const text = this.canvas.dataset.frame ?? "";
    if (text !== this.text) {
      this.text = text;
      try {
        this.nibbles = frameNibbles(parseFrameText(text));
      } catch {
        this.nibbles = [];
      }
      this.level = -1;
      this.startMs = performance.now();
    }
    if (this.nibbles.length === 0) {
      this.paint(0);
      return;
    }
    const due = Math.floor((performance.now() - this.startMs) / (1000 / this.rate));
    if (due <= this.level) return;
    // One level further at most: a late frame slows the flicker instead of losing a nibble.
    this.level++;
    if (due > this.level + 1) this.startMs = performance.now() - this.level * (1000 / this.rate);
    this.paint(levelMask(this.level, this.nibbles[this.level % this.nibbles.length]));
  }

  /** The five bars of `mask` (bit 0 the clock bar, leftmost): white where set, black elsewhere. */
  private paint(mask: number): void {
    const context = this.canvas.getContext("2d");
    if (!context) return;
    const { width, height } = this.canvas;
    context.fillStyle = "#000";
    context.fillRect(0, 0, width, height);
    const bar = width / 5;
    context.fillStyle = "#fff";
    for (let line = 0; line < 5; line++) {
      if ((mask >>> line) & 1) context.fillRect(Math.round(line * bar + bar * 0.1), 0, Math.round(bar * 0.8), height);
    }
  }
}

/** Where the token's five sensors sit over a flicker canvas: the middle of each bar (canvas pixels). */
export function sensorSpots(canvas: HTMLCanvasElement): { x: number; y: number }[] {
  const bar = canvas.width / 5;
  return Array.from({ length: 5 }, (_, line) => ({ x: Math.floor(line * bar + bar / 2), y: Math.floor(canvas.height / 2) }));
}
