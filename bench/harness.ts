// A small side-by-side benchmark harness: every contender of a group runs in the same process,
// warmed up, then timed in interleaved rounds (round-robin, the starting contender rotating each
// round) with a batch size calibrated to take about TARGET_MS. Reports the median time per operation.
import { hrtime } from "node:process";

declare const gc: (() => void) | undefined;

/** One implementation under test. `batch(n)` runs the operation n times and returns a checksum. */
export interface Contender {
  name: string;
  /** The reference the "speed-up" column divides by (one per group, normally ours). */
  ref?: boolean;
  note?: string;
  batch: (n: number) => number;
}

export interface Group {
  title: string;
  /** Bytes processed per operation, to print MB/s instead of ops/s. */
  bytesPerOp?: number;
  contenders: Contender[];
}

export interface Result {
  name: string;
  ref: boolean;
  note?: string;
  /** Median nanoseconds per operation over the rounds. */
  median: number;
  q1: number;
  q3: number;
  batchSize: number;
}

export interface Settings {
  rounds: number;
  targetMs: number;
  warmupMs: number;
}

/** Where batches write their checksums so no work can be optimised away. */
export let sink = 0;

function now(): bigint {
  return hrtime.bigint();
}

function collect(): void {
  if (typeof gc === "function") gc();
}

function timeBatch(c: Contender, n: number): number {
  const start = now();
  sink ^= c.batch(n) | 0;
  return Number(now() - start);
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Runs the contender for about `ms`, so every tier of the JIT has compiled it. */
function warmUp(c: Contender, ms: number): void {
  const deadline = now() + BigInt(Math.round(ms * 1e6));
  let n = 1;
  while (now() < deadline) {
    const t = timeBatch(c, n);
    if (t < 2e6) n *= 2;
  }
}

/** The batch size that takes about `targetMs`. */
function calibrate(c: Contender, targetMs: number): number {
  const target = targetMs * 1e6;
  let n = 1;
  for (;;) {
    collect();
    const t = timeBatch(c, n);
    if (t >= target / 4) {
      // Confirm with a second measurement at the scaled size; take the faster estimate.
      const scaled = Math.max(1, Math.round((n * target) / t));
      collect();
      const t2 = timeBatch(c, scaled);
      return Math.max(1, Math.round((scaled * target) / Math.min(t2, (t * scaled) / n)));
    }
    n *= t < target / 100 ? 10 : 2;
  }
}

export function runGroup(group: Group, settings: Settings): Result[] {
  const cs = group.contenders;
  for (const c of cs) warmUp(c, settings.warmupMs);
  const sizes = cs.map((c) => calibrate(c, settings.targetMs));
  const samples: number[][] = cs.map(() => []);
  for (let round = 0; round < settings.rounds; round++) {
    for (let k = 0; k < cs.length; k++) {
      const i = (round + k) % cs.length;
      collect();
      samples[i].push(timeBatch(cs[i], sizes[i]) / sizes[i]);
    }
  }
  return cs.map((c, i) => {
    const sorted = samples[i].slice().sort((a, b) => a - b);
    return {
      name: c.name,
      ref: c.ref ?? false,
      note: c.note,
      median: quantile(sorted, 0.5),
      q1: quantile(sorted, 0.25),
      q3: quantile(sorted, 0.75),
      batchSize: sizes[i],
    };
  });
}

export function formatTime(ns: number): string {
  if (ns < 1e3) return `${ns.toFixed(1)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toFixed(3)} ms`;
  return `${(ns / 1e9).toFixed(3)} s`;
}

function formatRate(perSecond: number, unit: string): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)} M${unit}`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)} k${unit}`;
  return `${perSecond.toFixed(1)} ${unit}`;
}

/** An aligned text table; `right[i]` right-aligns column i. */
export function table(header: string[], rows: string[][], right: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

/** The median of the contender named `name` divided into the reference's: > 1 means the reference is faster. */
export function speedup(results: Result[], name: string): number {
  const ref = results.find((r) => r.ref) ?? results[0];
  const other = results.find((r) => r.name === name);
  if (!other) throw new Error(`no contender ${name}`);
  return other.median / ref.median;
}

export function report(group: Group, results: Result[]): string {
  const ref = results.find((r) => r.ref) ?? results[0];
  const rows = results.map((r) => {
    const rate = group.bytesPerOp ? `${((group.bytesPerOp / r.median) * 1e3).toFixed(1)} MB/s` : formatRate(1e9 / r.median, "ops/s");
    const spread = `±${(((r.q3 - r.q1) / 2 / r.median) * 100).toFixed(1)}%`;
    const vs = r === ref ? "1.00x (ref)" : `${(r.median / ref.median).toFixed(2)}x`;
    return [r.name, formatTime(r.median), spread, rate, vs, String(r.batchSize), r.note ?? ""];
  });
  const header = ["contender", "median/op", "IQR/2", group.bytesPerOp ? "throughput" : "ops/s", "time vs ref", "batch", "note"];
  return `## ${group.title}\n${table(header, rows, [false, true, true, true, true, true, false])}`;
}
