// The token on its simulated board: simulated token-days per second of wall time (ten presses a
// day), one activation's wall time on this host, and what one activation costs the token in executed
// wasm instructions (counted by bench/instructions.ts, not by V8). Medians over rounds; not part of
// npm test.
//
//   npm run build && node dist/bench/token.js
import { performance } from "node:perf_hooks";
import { DEFAULT_BOARD_START_MS } from "../host/board/board.js";
import { SimToken } from "../host/token/sim-token.js";
import { randomBytes } from "node:crypto";
import { answerRequest, decodeRequest } from "../host/bank/protocol.js";
import { Board } from "../host/board/board.js";
import { TokenLink } from "../host/token/link.js";
import { wasmBytes } from "../host/wasm.js";
import { instrument } from "./instructions.js";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DAYS = 30;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function simulateDays(build: "release" | "debug", days: number): number {
  const token = new SimToken({ build, boardConfig: { randomSeed: 1 } });
  token.addProfile({ seed: new Uint8Array(20).fill(1), label: "BENCH" });
  const start = performance.now();
  for (let day = 0; day < days; day++) {
    const dayStart = token.board.clock.now();
    token.advance(8 * 3_600_000);
    for (let press = 0; press < 10; press++) {
      token.press();
      token.advance(90 * 60_000);
    }
    token.advance(dayStart + 86_400_000 - token.board.clock.now());
  }
  return days / ((performance.now() - start) / 1000);
}

/** Wall ms of the token's two link commands of one activation (the bank's half is not timed). */
function activationMs(build: "release" | "debug"): number {
  const token = new SimToken({ build, boardConfig: { randomSeed: 2, startMs: DEFAULT_BOARD_START_MS } });
  let start = performance.now();
  const request = token.link.activateBegin("10212083", "2083L0000193A001", "Pass1234");
  let elapsed = performance.now() - start;
  const { response } = answerRequest(
    decodeRequest(request),
    "Pass1234",
    { algorithm: "SHA1", digits: 6, period: 60, label: "BANK" },
    (n) => new Uint8Array(randomBytes(n)),
  );
  start = performance.now();
  token.link.activateFinish(response);
  elapsed += performance.now() - start;
  return elapsed;
}

console.log("# the token on its simulated board\n");
for (const build of ["release", "debug"] as const) {
  const rates: number[] = [];
  const activations: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    rates.push(simulateDays(build, DAYS));
    activations.push(activationMs(build));
  }
  console.log(
    `${build.padEnd(8)} ${median(rates).toFixed(0).padStart(6)} simulated token-days per second (10 presses a day, 600 panel refreshes a day)`,
  );
  console.log(
    `${build.padEnd(8)} ${median(activations).toFixed(1).padStart(6)} ms for one activation on the token (CPace: Elligator 2, 2 x X25519, SHA-512, HKDF; link commands only)`,
  );
}

/** Executed instructions of one activation's two link commands on token.wasm (release), and of its parts in kdf.small.wasm. */
function countInstructions(): void {
  const token = instrument(wasmBytes("token.wasm"));
  const kdf = instrument(wasmBytes("kdf.small.wasm"));
  if (!token || !kdf) {
    console.log("\n(wasm instruction counts skipped: wasm2wat/wat2wasm not found; apt-get install wabt)");
    return;
  }
  const board = new Board({ randomSeed: 3, startMs: DEFAULT_BOARD_START_MS });
  let exports: Record<string, unknown> = {};
  const memory = () => new Uint8Array((exports.memory as WebAssembly.Memory).buffer);
  const hal = {
    ...board.halImports(memory),
    fault: () => {
      throw new Error("firmware fault");
    },
  };
  exports = new WebAssembly.Instance(new WebAssembly.Module(token), { hal }).exports as Record<string, unknown>;
  const counter = exports.__instructions as WebAssembly.Global;
  const linkBuffer = (exports.LINK_BUFFER as WebAssembly.Global).value as number;
  (exports.boot as () => number)();
  const link = new TokenLink((frame) => {
    memory().set(frame, linkBuffer);
    const length = (exports.link as (n: number) => number)(frame.length);
    return memory().slice(linkBuffer, linkBuffer + length);
  });
  const counted = (run: () => void): bigint => {
    const before = counter.value as bigint;
    run();
    return (counter.value as bigint) - before;
  };
  let request: Uint8Array = new Uint8Array(0);
  const begin = counted(() => {
    request = link.activateBegin("10212083", "2083L0000193A001", "Pass1234");
  });
  const { response } = answerRequest(
    decodeRequest(request),
    "Pass1234",
    { algorithm: "SHA1", digits: 6, period: 60, label: "BANK" },
    (n) => new Uint8Array(randomBytes(n)),
  );
  const finish = counted(() => link.activateFinish(response));

  const k = new WebAssembly.Instance(new WebAssembly.Module(kdf), {}).exports as Record<string, unknown>;
  const kCounter = k.__instructions as WebAssembly.Global;
  const io = (k.IO_BUFFER as WebAssembly.Global).value as number;
  new Uint8Array((k.memory as WebAssembly.Memory).buffer).set(randomBytes(256), io);
  const part = (run: () => void): bigint => {
    const before = kCounter.value as bigint;
    run();
    return (kCounter.value as bigint) - before;
  };
  const x25519 = part(() => (k.x25519 as (o: number, s: number, p: number) => number)(0, 32, 64));
  const elligator = part(() => (k.elligator2 as (o: number, i: number) => number)(0, 32));
  const generator = part(() => (k.cpaceGenerator as (...a: number[]) => number)(0, 32, 8, 64, 56, 128, 16));
  const million = (n: bigint) => `${(Number(n) / 1e6).toFixed(2)} M`;
  console.log("\n# one activation on the token, in executed wasm instructions (release builds; block/loop/else/end not counted)\n");
  console.log(`token.wasm      ${million(begin).padStart(8)}  ACTIVATE_BEGIN (generator + X25519 + screen)`);
  console.log(`token.wasm      ${million(finish).padStart(8)}  ACTIVATE_FINISH (X25519, SHA-512, HMAC, HKDF, flash record, first code)`);
  console.log(`token.wasm      ${million(begin + finish).padStart(8)}  whole activation`);
  console.log(`kdf.small.wasm  ${million(x25519).padStart(8)}  one X25519`);
  console.log(`kdf.small.wasm  ${million(elligator).padStart(8)}  one Elligator 2 map`);
  console.log(`kdf.small.wasm  ${million(generator).padStart(8)}  the CPace generator (SHA-512 of 202 bytes + Elligator 2)`);
}

countInstructions();
