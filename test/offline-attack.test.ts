// The offline attack has nothing to test (issue 9; docs/activation.md, "Why a recording gives a guesser
// nothing"). A full activation is recorded, messages 1-3 between the real firmware token and the real
// bank, with a known password. For every candidate password, the right one included, an attacker's
// toolbox computes every value it can from the transcript and the candidate alone: the candidate and
// its hashes, protocol v1's K_AC (PBKDF2), CPace's generator string, its hash and the generator g,
// "K" guesses made from them, and from each of those keys the ISK, MAC key, confirmation tags and seeds
// CPace would derive, and HMACs keyed by each over every field range of every message under every
// label the protocol uses. None of it may match any 8 bytes of the transcript.
//
// Two controls show the toolbox would find the password if anything password-keyed were public: with
// the token's secret scalar ya (which the recording does not contain) the right candidate, and only it,
// reproduces Ya; and protocol v1's request tag (HMAC under PBKDF2 of the password over public data),
// recorded the same way, is matched by the right candidate and only it.
import { createHash, createHmac, hkdfSync, pbkdf2Sync, randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import type { BankStore } from "../host/bank/store.js";
import { openStore } from "../host/bank/open-store.js";
import { SeededRandom, type RandomSource } from "../host/board/random.js";
import { SimToken } from "../host/token/sim-token.js";
import { hex } from "./helpers.js";
import { referenceGenerator, referenceX25519 } from "./reference-cpace.js";

const PASSWORD = "k7Rq2";
// Candidates a guesser would try: near misses, common passwords, other lengths. None is part of an ID.
const CANDIDATES = [
  "k7Rq2",
  "k7Rq3",
  "K7RQ2",
  "k7rq2",
  "k7Rq",
  "k7Rq22",
  "q2k7R",
  "abcd",
  "Pass1234",
  "1234",
  "qwerty",
  "letmein1",
  "zzzz",
  "Zz9Zz9Zz",
  "aaaaaaaa",
  "0000",
  "k7Rq2x",
  "x7Rq2",
];

interface Transcript {
  request: Uint8Array;
  response: Uint8Array;
  confirmation: Uint8Array;
}

const ascii = (text: string) => Buffer.from(text, "latin1");
const lv = (...parts: Uint8Array[]) => Buffer.concat(parts.flatMap((part) => [Uint8Array.of(part.length), part]));
const sha256 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash("sha256")).digest();
const sha512 = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash("sha512")).digest();

// Field boundaries of each message (docs/activation.md, "Messages"); protocol v1's request last.
const BOUNDARIES: Record<string, number[]> = {
  request: [0, 2, 10, 26, 34, 50, 82],
  response: [0, 2, 21, 53, 117],
  confirmation: [0, 2, 10, 26, 42, 106],
  v1request: [0, 1, 9, 25, 33, 65, 81, 113],
};
// No label, and the labels either protocol puts in front of MACed data.
const LABELS = ["", "otp-token activation request v1", "otp-token activation response v1", "CPaceMac"].map(ascii);

/** Every value computable from the transcript's public bytes and one candidate password. */
function toolbox(messages: Record<string, Uint8Array>, candidate: string): Map<string, Uint8Array> {
  const values = new Map<string, Uint8Array>();
  const put = (name: string, value: Uint8Array) => values.set(name, value);
  const prs = ascii(candidate);
  const request = messages.request ?? messages.v1request;
  // Identities sit at the same offsets relative to each version's layout.
  const v2 = messages.request !== undefined;
  const ids = v2 ? request.subarray(2, 26) : request.subarray(1, 25);
  const serial = v2 ? request.subarray(26, 34) : request.subarray(25, 33);
  put("password SHA-256", sha256(prs));
  put("password SHA-512", sha512(prs));
  put("v1 K_AC = PBKDF2-HMAC-SHA256(password, Service ID || User ID, 1000)", pbkdf2Sync(prs, ids, 1000, 32, "sha256"));
  const keys = new Map<string, Uint8Array>([["password", prs], ...values]);
  const sid = v2 ? request.subarray(34, 50) : new Uint8Array(0);
  const ci = lv(ascii("otp-token activation"), serial, ids.subarray(0, 8), ids.subarray(8, 24));
  const generatorString = lv(ascii("CPace255"), prs, new Uint8Array(128 - 1 - (1 + prs.length) - 9), ci, sid);
  const generatorHash = sha512(generatorString);
  const generator = referenceGenerator(prs, ci, sid);
  put("generator string hash", generatorHash);
  put("generator g", generator);
  keys.set("generator string hash", generatorHash);
  keys.set("generator g", generator);
  // HMACs keyed by every candidate-derived key, over every field range of every message, under every label.
  for (const [keyName, key] of keys) {
    for (const [messageName, message] of Object.entries(messages)) {
      const cuts = BOUNDARIES[messageName];
      for (let a = 0; a < cuts.length; a++) {
        for (let b = a + 1; b < cuts.length; b++) {
          for (const label of LABELS) {
            for (const algorithm of ["sha256", "sha512"]) {
              const mac = createHmac(algorithm, key).update(label).update(message.subarray(cuts[a], cuts[b])).digest();
              put(`HMAC-${algorithm}(${keyName}, ${label.toString()} || ${messageName}[${cuts[a]}..${cuts[b]}])`, mac);
            }
          }
        }
      }
    }
  }
  if (!v2) return values;
  // CPace's derivations with every "K" a guesser can form without a secret scalar.
  const Ya = messages.request.subarray(50, 82);
  const ADa = messages.request.subarray(0, 34);
  const ADb = messages.response.subarray(0, 21);
  const Yb = messages.response.subarray(21, 53);
  const guesses = new Map<string, Uint8Array>([
    ["g", generator],
    ["generator hash", generatorHash.subarray(0, 32)],
  ]);
  for (const [name, scalar] of [
    ["g", generator],
    ["generator hash", generatorHash.subarray(0, 32)],
  ] as const) {
    guesses.set(`X25519(${name}, Ya)`, referenceX25519(scalar, Ya));
    guesses.set(`X25519(${name}, Yb)`, referenceX25519(scalar, Yb));
  }
  for (const [name, K] of guesses) {
    const isk = sha512(lv(ascii("CPace255_ISK"), sid, K), lv(Ya, ADa), lv(Yb, ADb));
    const macKey = sha512(ascii("CPaceMac"), sid, isk);
    put(`ISK with K = ${name}`, isk);
    put(`MAC key with K = ${name}`, macKey);
    put(`Ta with K = ${name}`, createHmac("sha512", macKey).update(lv(Ya, ADa)).digest());
    put(`Tb with K = ${name}`, createHmac("sha512", macKey).update(lv(Yb, ADb)).digest());
    put(`seed with K = ${name}`, Buffer.from(hkdfSync("sha256", isk, new Uint8Array(0), ascii("otp-token seed v2"), 64)));
  }
  return values;
}

/** The names of the values that share any 8 consecutive bytes with the transcript. */
function matches(messages: Record<string, Uint8Array>, values: Map<string, Uint8Array>): string[] {
  const windows = new Set<string>();
  for (const message of Object.values(messages)) {
    const bytes = Buffer.from(message);
    for (let i = 0; i + 8 <= bytes.length; i++) windows.add(bytes.toString("latin1", i, i + 8));
  }
  const found: string[] = [];
  for (const [name, value] of values) {
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    for (let i = 0; i + 8 <= bytes.length; i++) {
      if (windows.has(bytes.toString("latin1", i, i + 8))) {
        found.push(name);
        break;
      }
    }
  }
  return found;
}

/** Remembers the firmware's random draws: the last activation drew sid, then ya. */
class RecordingRandom implements RandomSource {
  readonly given: Uint8Array[] = [];
  private readonly source = new SeededRandom(randomInt(1 << 30));

  fill(bytes: Uint8Array): void {
    this.source.fill(bytes);
    this.given.push(bytes.slice());
  }
}

describe("a recorded activation gives a guesser nothing to test", () => {
  let dir: string;
  let store: BankStore;
  let transcript: Transcript;
  let ya: Uint8Array;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "otp-offline-"));
    store = await openStore(join(dir, "bank.sqlite"), { create: true });
    const random = new RecordingRandom();
    const token = new SimToken({ boardConfig: { random } });
    const bank = await Bank.open(store, MasterKey.fromHex("ab".repeat(32)), { now: () => Number(token.rtcSeconds()) });
    await bank.updateSettings({ serviceId: "10212083" });
    const issued = await bank.issue({
      mail: "holder@example.jp",
      mailConfirm: "holder@example.jp",
      password: PASSWORD,
      passwordConfirm: PASSWORD,
    });
    const request = token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD);
    ya = random.given[random.given.length - 1];
    const { response } = await bank.activate(request);
    const { confirmation } = token.link.activateFinish(response);
    await bank.register(confirmation);
    expect((await bank.confirm(issued.userId, token.screen().code!)).ok).toBe(true);
    transcript = { request, response, confirmation };
  });

  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("no value computable from the transcript and a candidate matches the transcript, for any candidate", () => {
    const messages = { ...transcript };
    expect(CANDIDATES).toContain(PASSWORD);
    let computed = 0;
    // The password is never on the wire in clear. (Some candidates, such as "0000", are substrings of the
    // public User ID, 2083L0000001A001: that says nothing about the password.)
    expect(Buffer.concat(Object.values(messages)).includes(ascii(PASSWORD))).toBe(false);
    for (const candidate of CANDIDATES) {
      const values = toolbox(messages, candidate);
      computed += values.size;
      expect(matches(messages, values), candidate).toEqual([]);
    }
    expect(computed).toBeGreaterThan(CANDIDATES.length * 2000);
  }, 60_000);

  it("control: with the token's secret ya, which is not in the recording, only the right candidate reproduces Ya", () => {
    const request = transcript.request;
    const serial = request.subarray(26, 34);
    const ci = lv(ascii("otp-token activation"), serial, request.subarray(2, 10), request.subarray(10, 26));
    const reproduces = CANDIDATES.filter(
      (candidate) =>
        hex(referenceX25519(ya, referenceGenerator(ascii(candidate), ci, request.subarray(34, 50)))) === hex(request.subarray(50, 82)),
    );
    expect(reproduces).toEqual([PASSWORD]);
  }, 60_000);

  it("control: the same toolbox breaks protocol v1's request tag (HMAC under PBKDF2 of the password over public data)", () => {
    // Protocol v1's message 1, rebuilt from its specification (docs/activation.md before version 2).
    const body = Buffer.concat([
      Uint8Array.of(1),
      transcript.request.subarray(2, 34),
      transcript.request.subarray(50, 82),
      transcript.request.subarray(34, 50),
    ]);
    const kac = pbkdf2Sync(ascii(PASSWORD), body.subarray(1, 25), 1000, 32, "sha256");
    const v1request = Buffer.concat([
      body,
      createHmac("sha256", kac).update(ascii("otp-token activation request v1")).update(body).digest(),
    ]);
    const messages = { v1request };
    const found = CANDIDATES.filter((candidate) => matches(messages, toolbox(messages, candidate)).length > 0);
    expect(found).toEqual([PASSWORD]);
  }, 60_000);
});
