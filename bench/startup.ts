// Start-up time of the otp-token command against bare node: each contender is spawned many times,
// interleaved (round-robin, so a burst of machine load hits all alike), and timed from spawn to
// exit. The CLI loads a subcommand's modules only when it runs (host/cli.ts), so `otp-token code`
// pays for the OTP core and nothing else. Goal: `otp-token code` <= 1.3x bare `node -e 0`.
//
//   npm run build && node dist/bench/startup.js      (BENCH_SPAWNS=N to change the count, default 61)
import { spawnSync } from "node:child_process";
import { hrtime } from "node:process";
import { fileURLToPath } from "node:url";
import { formatTime, table } from "./harness.js";

const SPAWNS = Number(process.env.BENCH_SPAWNS ?? 61);
const CLI = fileURLToPath(new URL("../host/cli.js", import.meta.url));
const RFC6238_KEY = "3132333435363738393031323334353637383930";
const GOAL = 1.3;

interface Contender {
  name: string;
  command: string;
  args: string[];
  /** What stdout must start with, so a broken command is not timed as a fast one. */
  expect?: string;
}

const contenders: Contender[] = [
  { name: "node -e 0 (bare node)", command: process.execPath, args: ["-e", "0"] },
  {
    name: "otp-token code",
    command: process.execPath,
    args: [CLI, "code", "--time", "59", "--digits", "8", RFC6238_KEY],
    expect: "84755224",
  },
  { name: "otp-token --help", command: process.execPath, args: [CLI, "--help"], expect: "Usage: otp-token" },
];
const oathtool = spawnSync("oathtool", ["--version"]);
if (oathtool.status === 0) {
  contenders.push({
    name: "oathtool --totp (C, for scale)",
    command: "oathtool",
    args: ["--totp", "-s", "60", "-N", "@59", "-d", "8", RFC6238_KEY],
    expect: "84755224",
  });
}

function run(c: Contender): number {
  const start = hrtime.bigint();
  const result = spawnSync(c.command, c.args, { encoding: "utf8" });
  const elapsed = Number(hrtime.bigint() - start);
  if (result.status !== 0 || (c.expect && !result.stdout.startsWith(c.expect))) {
    throw new Error(`${c.name} failed (status ${result.status}): ${result.stderr || result.stdout}`);
  }
  return elapsed;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

for (const c of contenders) run(c); // warm the file cache
const samples = contenders.map(() => [] as number[]);
for (let round = 0; round < SPAWNS; round++) {
  for (let k = 0; k < contenders.length; k++) {
    const i = (round + k) % contenders.length;
    samples[i].push(run(contenders[i]));
  }
}
const medians = samples.map(median);
const bare = medians[0];
// Each round's own ratio to bare node, then their median: a burst of load on this shared machine
// slows a round's spawns alike, so the paired ratio moves less than the ratio of the two medians.
const paired = samples.map((times) => median(times.map((time, round) => time / samples[0][round])));
console.log(`## Start-up: spawn to exit, ${SPAWNS} interleaved rounds`);
console.log(
  table(
    ["command", "median", "min", "vs bare node", "paired ratio"],
    contenders.map((c, i) => [
      c.name,
      formatTime(medians[i]),
      formatTime(Math.min(...samples[i])),
      `${(medians[i] / bare).toFixed(2)}x`,
      `${paired[i].toFixed(2)}x`,
    ]),
    [false, true, true, true, true],
  ),
);
console.log("('vs bare node': the ratio of the medians; 'paired ratio': the median of each round's ratio to that round's bare node)");
const ratio = paired[1];
console.log(
  `\n## Goal (informational)\n${ratio <= GOAL ? "PASS" : "FAIL"}  otp-token code <= ${GOAL}x bare node -e 0 (paired ratio): ${ratio.toFixed(2)}x`,
);
