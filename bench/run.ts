// npm run bench: our wasm core against node:crypto and the usual npm packages, side by side in one
// process (see bench/harness.ts for the method). Prints aligned tables and a Goals section; the goals
// are informational and never change the exit code.
import { digest as asDigest, simdEnabled as asSimd } from "@chainsafe/as-sha256";
import { hmac as nobleHmac } from "@noble/hashes/hmac.js";
import { sha1 as nobleSha1 } from "@noble/hashes/legacy.js";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { createHMAC, createSHA1, createSHA256 } from "hash-wasm";
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { cpus, loadavg, platform, arch } from "node:os";
import { versions } from "node:process";
import * as OTPAuth from "otpauth";
import { generateSync as otplibGenerate, verifySync as otplibVerify } from "otplib";
import { otpApi } from "../host/otp.js";
import { report, runGroup, sink, speedup, table, type Group, type Result, type Settings } from "./harness.js";

const settings: Settings = {
  rounds: Number(process.env.BENCH_ROUNDS ?? 21),
  targetMs: Number(process.env.BENCH_TARGET_MS ?? 30),
  warmupMs: Number(process.env.BENCH_WARMUP_MS ?? 250),
};

const started = Date.now();
const api = otpApi("release");

function version(pkg: string): string {
  try {
    const url = new URL(`../../node_modules/${pkg}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
  } catch {
    return "?";
  }
}

// ---------------------------------------------------------------------------------------------
// Environment
const cpu = cpus();
console.log("# otp-token benchmark\n");
console.log(
  table(
    ["", ""],
    [
      ["node", `${process.version} (V8 ${versions.v8})`],
      ["platform", `${platform()} ${arch()}`],
      ["cpu", `${cpu[0]?.model ?? "?"} x ${cpu.length}`],
      [
        "load average",
        loadavg()
          .map((l) => l.toFixed(2))
          .join(" "),
      ],
      ["gc between batches", typeof (globalThis as { gc?: unknown }).gc === "function" ? "yes (--expose-gc)" : "no (run with --expose-gc)"],
      ["method", `${settings.rounds} interleaved rounds, ~${settings.targetMs} ms batches, ${settings.warmupMs} ms warm-up each; median`],
      ["peers", ["hash-wasm", "@noble/hashes", "@chainsafe/as-sha256", "otpauth", "otplib"].map((p) => `${p} ${version(p)}`).join(", ")],
      ["as-sha256 simd", String(asSimd)],
    ],
    [false, false],
  )
    .split("\n")
    .slice(2)
    .join("\n"),
);
console.log("\n'time vs ref' is the contender's median time divided by the reference's (ours): 3.00x = ours is 3 times as fast.\n");

// ---------------------------------------------------------------------------------------------
// Inputs
const small = new Uint8Array(randomBytes(64));
const large = new Uint8Array(randomBytes(1 << 20));
const hmacKey = new Uint8Array(randomBytes(20));
const hmacData = new Uint8Array(randomBytes(8));
const totpKey = new Uint8Array(randomBytes(20));
const totpKeyBuffer = Buffer.from(totpKey);
const PERIOD = 60;
const DIGITS = 6;
const BASE = 1_700_000_000;
const opts = { algorithm: "SHA1", digits: DIGITS, period: PERIOD } as const;

const hwSha256 = await createSHA256();
const hwHmacSha1 = await createHMAC(createSHA1(), hmacKey);

const first = (b: Uint8Array): number => b[0];

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// ---------------------------------------------------------------------------------------------
// Plain node:crypto TOTP, written the way most applications write it.
function plainTotp(key: Buffer, unixSeconds: number, period = PERIOD, digits = DIGITS): string {
  const counter = Math.floor(unixSeconds / period);
  const message = Buffer.alloc(8);
  message.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  message.writeUInt32BE(counter >>> 0, 4);
  const mac = createHmac("sha1", key).update(message).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const binary = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
  return String(binary % 10 ** digits).padStart(digits, "0");
}

function plainVerify(key: Buffer, token: string, unixSeconds: number, window = 1): number | null {
  const given = Buffer.from(token);
  for (let delta = -window; delta <= window; delta++) {
    const expected = Buffer.from(plainTotp(key, unixSeconds + delta * PERIOD));
    if (expected.length === given.length && timingSafeEqual(expected, given)) return delta;
  }
  return null;
}

const generator = api.createTotp(totpKey, opts);
const otpauthTotp = new OTPAuth.TOTP({
  secret: new OTPAuth.Secret({ buffer: totpKey.slice().buffer }),
  algorithm: "SHA1",
  digits: DIGITS,
  period: PERIOD,
});
const otplibOptions = { digits: DIGITS as 6, period: PERIOD, algorithm: "sha1" as const };

// ---------------------------------------------------------------------------------------------
// Cross-check: every contender computes the same thing before anything is timed.
{
  const d64 = api.digest("SHA256", small);
  const d1m = api.digest("SHA256", large);
  for (const [data, ours] of [
    [small, d64],
    [large, d1m],
  ] as const) {
    const others = [
      new Uint8Array(createHash("sha256").update(data).digest()),
      asDigest(data),
      hwSha256.init().update(data).digest("binary"),
      nobleSha256(data),
    ];
    if (!others.every((o) => equal(o, ours))) throw new Error(`SHA-256 of ${data.length} B disagrees between contenders`);
  }
  const mac = api.hmac("SHA1", hmacKey, hmacData);
  const macs = [
    new Uint8Array(createHmac("sha1", hmacKey).update(hmacData).digest()),
    nobleHmac(nobleSha1, hmacKey, hmacData),
    hwHmacSha1.init().update(hmacData).digest("binary"),
  ];
  if (!macs.every((m) => equal(m, mac))) throw new Error("HMAC-SHA1 disagrees between contenders");
  for (let i = 0; i < 50; i++) {
    const t = BASE + i * 37;
    const codes = [
      api.totp(totpKey, t, opts),
      generator.generate(t),
      plainTotp(totpKeyBuffer, t),
      otpauthTotp.generate({ timestamp: t * 1000 }),
      otplibGenerate({ secret: totpKey, epoch: t, ...otplibOptions }),
    ];
    if (!codes.every((c) => c === codes[0])) throw new Error(`TOTP at ${t} disagrees: ${codes.join(" ")}`);
    // Window semantics: the next step's code is accepted (+1), the one after is not.
    const next = plainTotp(totpKeyBuffer, t + PERIOD);
    const far = plainTotp(totpKeyBuffer, t + 2 * PERIOD);
    const accepts = [
      generator.verify(next, t, { window: 1 }) === 1,
      plainVerify(totpKeyBuffer, next, t) === 1,
      otpauthTotp.validate({ token: next, timestamp: t * 1000, window: 1 }) === 1,
      otplibVerify({ secret: totpKey, token: next, epoch: t, epochTolerance: PERIOD, ...otplibOptions }).valid,
    ];
    const within = [t - PERIOD, t, t + PERIOD].map((s) => plainTotp(totpKeyBuffer, s));
    const rejects = within.includes(far)
      ? [true]
      : [
          generator.verify(far, t, { window: 1 }) === null,
          plainVerify(totpKeyBuffer, far, t) === null,
          otpauthTotp.validate({ token: far, timestamp: t * 1000, window: 1 }) === null,
          !otplibVerify({ secret: totpKey, token: far, epoch: t, epochTolerance: PERIOD, ...otplibOptions }).valid,
        ];
    if (!accepts.every(Boolean) || !rejects.every(Boolean)) throw new Error(`verification window disagrees at ${t}`);
  }
  console.log("cross-check: all contenders agree on SHA-256, HMAC-SHA1, TOTP codes and the ±1-step window.\n");
}

// The wrong code every verifier gets. The chance that "000000" is one of the three codes in a window
// is 3 in a million per call; a rare match would not change any timing (ours is constant time anyway).
const WRONG = "000000";

// ---------------------------------------------------------------------------------------------
// Groups
function sha256Group(data: Uint8Array, label: string): Group {
  return {
    title: `SHA-256 of ${label}`,
    bytesPerOp: data.length,
    contenders: [
      {
        name: "ours  api.digest",
        ref: true,
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += first(api.digest("SHA256", data));
          return s;
        },
      },
      {
        name: "node:crypto createHash",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += createHash("sha256").update(data).digest()[0];
          return s;
        },
      },
      {
        name: "hash-wasm",
        note: "createSHA256() once; init().update().digest('binary') per op",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += first(hwSha256.init().update(data).digest("binary"));
          return s;
        },
      },
      {
        name: "@chainsafe/as-sha256",
        note: "digest()",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += first(asDigest(data));
          return s;
        },
      },
      {
        name: "@noble/hashes",
        note: "sha256()",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += first(nobleSha256(data));
          return s;
        },
      },
    ],
  };
}

const hmacGroup: Group = {
  title: "HMAC-SHA1 of 8 B (20-byte key, key given on every call)",
  contenders: [
    {
      name: "ours  api.hmac",
      ref: true,
      batch: (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += first(api.hmac("SHA1", hmacKey, hmacData));
        return s;
      },
    },
    {
      name: "node:crypto createHmac",
      batch: (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += createHmac("sha1", hmacKey).update(hmacData).digest()[0];
        return s;
      },
    },
    {
      name: "hash-wasm",
      note: "createHMAC(createSHA1(), key) once (key pre-processed); init/update/digest per op",
      batch: (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += first(hwHmacSha1.init().update(hmacData).digest("binary"));
        return s;
      },
    },
    {
      name: "@noble/hashes",
      note: "hmac(sha1, key, data)",
      batch: (n) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += first(nobleHmac(nobleSha1, hmacKey, hmacData));
        return s;
      },
    },
  ],
};

/** Each contender walks its own clock forward a step per call, so nothing can be cached. */
function clock(): () => number {
  let i = 0;
  return () => BASE + (i++ % 10_000_000) * PERIOD;
}

const code0 = (c: string): number => c.charCodeAt(0);

function totpGroup(): Group {
  const c1 = clock(),
    c2 = clock(),
    c3 = clock(),
    c4 = clock(),
    c5 = clock();
  return {
    title: "TOTP generation (SHA-1, 6 digits, 60 s, 20-byte key, a new step every call)",
    contenders: [
      {
        name: "ours  createTotp().generate",
        ref: true,
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += code0(generator.generate(c1()));
          return s;
        },
      },
      {
        name: "ours  api.totp (one-shot)",
        note: "prepares the key on every call",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += code0(api.totp(totpKey, c2(), opts));
          return s;
        },
      },
      {
        name: "plain node:crypto",
        note: "createHmac per call + dynamic truncation",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += code0(plainTotp(totpKeyBuffer, c3()));
          return s;
        },
      },
      {
        name: "otpauth TOTP.generate",
        note: "TOTP object made once; uses node:crypto createHmac",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += code0(otpauthTotp.generate({ timestamp: c4() * 1000 }));
          return s;
        },
      },
      {
        name: "otplib generateSync",
        note: "default (noble) crypto plugin",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += code0(otplibGenerate({ secret: totpKey, epoch: c5(), ...otplibOptions }));
          return s;
        },
      },
    ],
  };
}

function verifyGroup(): Group {
  const c1 = clock(),
    c2 = clock(),
    c3 = clock(),
    c4 = clock();
  const miss = (r: unknown): number => (r === null ? 1 : 0);
  return {
    title: "TOTP verification of a wrong code, window ±1 step (3 codes computed per call)",
    contenders: [
      {
        name: "ours  createTotp().verify",
        ref: true,
        note: "constant time over the window",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += miss(generator.verify(WRONG, c1(), { window: 1 }));
          return s;
        },
      },
      {
        name: "plain node:crypto",
        note: "3 x createHmac + timingSafeEqual",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += miss(plainVerify(totpKeyBuffer, WRONG, c2(), 1));
          return s;
        },
      },
      {
        name: "otpauth TOTP.validate",
        note: "window: 1",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) s += miss(otpauthTotp.validate({ token: WRONG, timestamp: c3() * 1000, window: 1 }));
          return s;
        },
      },
      {
        name: "otplib verifySync",
        note: "epochTolerance: 60 (= ±1 step)",
        batch: (n) => {
          let s = 0;
          for (let i = 0; i < n; i++) {
            s += otplibVerify({ secret: totpKey, token: WRONG, epoch: c4(), epochTolerance: PERIOD, ...otplibOptions }).valid ? 0 : 1;
          }
          return s;
        },
      },
    ],
  };
}
// No one-shot verify exists in our API (only createTotp().verify), so there is no "ours one-shot" row.

// ---------------------------------------------------------------------------------------------
// Run
const groups: Array<[string, Group]> = [
  ["sha64", sha256Group(small, "64 B")],
  ["sha1m", sha256Group(large, "1 MiB")],
  ["hmac", hmacGroup],
  ["totp", totpGroup()],
  ["verify", verifyGroup()],
];
const only = process.env.BENCH_ONLY?.split(",");
const results = new Map<string, Result[]>();
for (const [key, group] of groups) {
  if (only && !only.includes(key)) continue;
  const r = runGroup(group, settings);
  results.set(key, r);
  console.log(`${report(group, r)}\n`);
}

// ---------------------------------------------------------------------------------------------
// Goals (informational)
interface Goal {
  group: string;
  text: string;
  peer: string;
  atLeast: number;
}
const goals: Goal[] = [
  { group: "totp", text: "createTotp().generate >= 3x plain node:crypto", peer: "plain node:crypto", atLeast: 3 },
  { group: "totp", text: "createTotp().generate >= 3x otpauth", peer: "otpauth TOTP.generate", atLeast: 3 },
  { group: "verify", text: "createTotp().verify >= 3x plain node:crypto", peer: "plain node:crypto", atLeast: 3 },
  { group: "verify", text: "createTotp().verify >= 3x otpauth", peer: "otpauth TOTP.validate", atLeast: 3 },
  { group: "sha1m", text: "SHA-256 1 MiB >= hash-wasm", peer: "hash-wasm", atLeast: 1 },
  { group: "sha1m", text: "SHA-256 1 MiB >= 2x @chainsafe/as-sha256", peer: "@chainsafe/as-sha256", atLeast: 2 },
];
const rows = goals
  .filter((g) => results.has(g.group))
  .map((g) => {
    const x = speedup(results.get(g.group)!, g.peer);
    return [x >= g.atLeast ? "PASS" : "FAIL", g.text, `${x.toFixed(2)}x`, `${g.atLeast.toFixed(2)}x`];
  });
console.log("## Goals (informational; ours' speed relative to the peer)");
console.log(table(["", "goal", "measured", "needed"], rows, [false, false, true, true]));
console.log(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s (checksum ${sink & 0xff})`);
generator.dispose();
