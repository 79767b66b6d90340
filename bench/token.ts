// The token on its simulated board: simulated token-days per second of wall time (ten presses a
// day), and one activation's wall time on this host. Medians over rounds; not part of npm test.
//
//   npm run build && node dist/bench/token.js
import { performance } from "node:perf_hooks";
import { DEFAULT_BOARD_START_MS } from "../host/board/board.js";
import { SimToken } from "../host/token/sim-token.js";
import { activationKey, decodeRequest, encodeResponse, generateX25519 } from "../host/bank/protocol.js";

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

function activationMs(build: "release" | "debug"): number {
  const token = new SimToken({ build, boardConfig: { randomSeed: 2, startMs: DEFAULT_BOARD_START_MS } });
  const start = performance.now();
  const request = token.link.activateBegin("10212083", "2083L0000193A001", "Pass1234");
  const fields = decodeRequest(request);
  const key = activationKey("Pass1234", fields.serviceId, fields.userId);
  const bank = generateX25519();
  const response = encodeResponse({ algorithm: "SHA1", digits: 6, period: 60, label: "BANK", publicKey: bank.publicKey, nonce: new Uint8Array(16) }, request, key);
  token.link.activateFinish(response);
  return performance.now() - start;
}

console.log("# the token on its simulated board\n");
for (const build of ["release", "debug"] as const) {
  const rates: number[] = [];
  const activations: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    rates.push(simulateDays(build, DAYS));
    activations.push(activationMs(build));
  }
  console.log(`${build.padEnd(8)} ${median(rates).toFixed(0).padStart(6)} simulated token-days per second (10 presses a day, 600 panel refreshes a day)`);
  console.log(`${build.padEnd(8)} ${median(activations).toFixed(1).padStart(6)} ms for one activation on the token, host included (PBKDF2 x1000, 2 x X25519, HKDF)`);
}
