// The optical channel's error rate: the release firmware's decoder (assembly/optical/decoder.ts)
// held to simulated flickering pages (host/optical/flicker.ts) through the simulated sensors and
// sampling timer (host/optical/scan.ts), TRIALS seeded runs per condition, each starting at a random
// point of the frame. A trial fails when no sound frame arrives within FRAMES frame durations; a
// wrong frame accepted is counted apart (it must stay 0: the CRC-32 guards it). Virtual time only.
//
//   npm run build && node dist/bench/optical.js
import { Board } from "../host/board/board.js";
import { mulberry32 } from "../host/board/random.js";
import { type FlickerConfig, FlickerPage } from "../host/optical/flicker.js";
import { firmwareOnBoard, type SamplerConfig, scanUntilFrame } from "../host/optical/scan.js";

const TRIALS = Number(process.env.BENCH_TRIALS ?? 200);
// The rest of the frame under way and one whole repetition, and 4 levels for the comparators to learn
// the swing: a sound decoder needs no more.
const FRAMES = 2;
const LEARN_LEVELS = 4;
const PAYLOAD_BYTES = 48; // about a transfer: bank, branch, account, amount, name, nonce

const CONDITIONS: [string, Partial<FlickerConfig>, Partial<SamplerConfig>][] = [
  ["clean page, 20 levels/s", { noise: 0, jitter: 0 }, { timingJitter: 0 }],
  ["normal (noise 0.03, edge jitter 0.2)", {}, {}],
  ["slow page, 10 levels/s", { levelsPerSecond: 10 }, {}],
  ["fast page, 30 levels/s", { levelsPerSecond: 30 }, {}],
  ["dim screen (white 0.25 over 0.15)", { white: 0.25, ambient: 0.15, noise: 0.01 }, {}],
  ["glare (white 1 over 0.7)", { white: 1, ambient: 0.7, noise: 0.02 }, {}],
  ["noise 0.08", { noise: 0.08 }, {}],
  ["noise 0.15", { noise: 0.15 }, {}],
  ["edge and timer jitter 0.5", { jitter: 0.5 }, { timingJitter: 0.5 }],
  ["10% samples missed", {}, { missRate: 0.1 }],
  ["30% samples doubled", {}, { doubleRate: 0.3 }],
  [
    "fast + noise 0.05 + 5% missed + 5% doubled",
    { levelsPerSecond: 30, jitter: 0.3, noise: 0.05 },
    { missRate: 0.05, doubleRate: 0.05, timingJitter: 0.3 },
  ],
  ["fast + 20% missed", { levelsPerSecond: 30 }, { missRate: 0.2 }],
];

console.log(`# the optical decoder's error rate (release token.wasm, ${TRIALS} trials a condition, ${PAYLOAD_BYTES}-byte payload)\n`);
console.log(
  "| condition | failed to decode within 2 frames + 4 levels | wrong frames accepted | CRC failures per trial | mean time to decode (frames) |",
);
console.log("| --- | --- | --- | --- | --- |");
for (const [name, page, sampler] of CONDITIONS) {
  let failed = 0;
  let wrong = 0;
  let checksumFailures = 0;
  let frames = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const next = mulberry32(trial + 1);
    const payload = Uint8Array.from({ length: PAYLOAD_BYTES }, () => next() & 0xff);
    const board = new Board({ randomSeed: 1 });
    const firmware = firmwareOnBoard("release", board);
    const flicker = new FlickerPage(payload, { ...page, seed: trial + 1 }, board.clock.now());
    board.clock.advance(Math.round((next() / 2 ** 32) * flicker.frameMs));
    board.light.aim((timeMs) => flicker.lightAt(timeMs));
    const levelMs = flicker.frameMs / flicker.nibbles.length;
    const result = scanUntilFrame(firmware, board, FRAMES * flicker.frameMs + LEARN_LEVELS * levelMs, { ...sampler, seed: trial + 7 });
    checksumFailures += result.checksumFailures;
    if (!result.payload) failed++;
    else {
      if (result.payload.some((b, i) => b !== payload[i]) || result.payload.length !== payload.length) wrong++;
      frames += result.elapsedMs / flicker.frameMs;
    }
  }
  const decoded = TRIALS - failed;
  console.log(
    `| ${name} | ${((100 * failed) / TRIALS).toFixed(1)}% (${failed}) | ${wrong} | ${(checksumFailures / TRIALS).toFixed(2)} | ${decoded ? (frames / decoded).toFixed(2) : "-"} |`,
  );
}
