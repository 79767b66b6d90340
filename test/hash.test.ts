// SHA-1/256/512 and HMAC against implementations we did not write: node:crypto (OpenSSL) for all
// three, @chainsafe/as-sha256 for SHA-256. Every build of the core.
import { createHash, createHmac } from "node:crypto";
import { digest as chainsafeDigest } from "@chainsafe/as-sha256";
import { describe, expect, it } from "vitest";
import { algorithmId, otpApi } from "../host/otp.js";
import { CORE_BUILDS, hex, pattern, testRandom } from "./helpers.js";

const NODE_NAMES = { SHA1: "sha1", SHA256: "sha256", SHA512: "sha512" } as const;
const ALGORITHMS = Object.keys(NODE_NAMES) as (keyof typeof NODE_NAMES)[];
/** The sweeps take about a second each alone, several times that on a loaded CI box. */
const SWEEP_TIMEOUT_MS = 120_000;

describe.each(CORE_BUILDS)("hashes against node:crypto, %s build", (build) => {
  const api = otpApi(build);

  it.each(ALGORITHMS)("%s: every message length 0-1100 bytes", { timeout: SWEEP_TIMEOUT_MS }, (alg) => {
    for (let length = 0; length <= 1100; length++) {
      const message = pattern(length, 1);
      expect(hex(api.digest(alg, message)), `length ${length}`).toBe(createHash(NODE_NAMES[alg]).update(message).digest("hex"));
    }
  });

  it.each(ALGORITHMS)("%s: random messages up to 1 MiB (streamed through the I/O buffer)", { timeout: SWEEP_TIMEOUT_MS }, (alg) => {
    const random = testRandom();
    const lengths = [16383, 16384, 16385, 65536 + 7, 1 << 20];
    for (let i = 0; i < 6; i++) lengths.push(random.int(1, (1 << 20) + 1));
    for (const length of lengths) {
      const message = random.bytes(length);
      expect(hex(api.digest(alg, message)), `length ${length}`).toBe(createHash(NODE_NAMES[alg]).update(message).digest("hex"));
    }
  });

  it.each(ALGORITHMS)("%s: three updates at every pair of cut points over 256 bytes", { timeout: SWEEP_TIMEOUT_MS }, (alg) => {
    const { exports: e, io } = api.core.main;
    const message = pattern(256, 7);
    const expected = createHash(NODE_NAMES[alg]).update(message).digest("hex");
    const id = algorithmId(alg);
    const update = (part: Uint8Array) => {
      io.set(part);
      expect(e.hashUpdate(part.length)).toBe(0);
    };
    for (let i = 0; i <= message.length; i++) {
      for (let j = i; j <= message.length; j++) {
        expect(e.hashInit(id)).toBe(0);
        update(message.subarray(0, i));
        update(message.subarray(i, j));
        update(message.subarray(j));
        const length = e.hashFinal();
        const got = hex(io.subarray(0, length));
        if (got !== expected) expect(got, `cuts at ${i} and ${j}`).toBe(expected);
      }
    }
  });

  it.each(ALGORITHMS)("HMAC-%s: every key length 0-300 bytes, short and long messages", { timeout: SWEEP_TIMEOUT_MS }, (alg) => {
    for (let keyLength = 0; keyLength <= 300; keyLength++) {
      const key = pattern(keyLength, 3);
      for (const message of [pattern(8, keyLength), pattern(200 + keyLength, 5)]) {
        expect(hex(api.hmac(alg, key, message)), `key length ${keyLength}`).toBe(
          createHmac(NODE_NAMES[alg], key).update(message).digest("hex"),
        );
      }
    }
  });

  it.each(ALGORITHMS)(
    "HMAC-%s: a 40 KB key and a 100 KB message (both longer than the I/O buffer)",
    { timeout: SWEEP_TIMEOUT_MS },
    (alg) => {
      const random = testRandom();
      const key = random.bytes(40_000);
      const message = random.bytes(100_000);
      expect(hex(api.hmac(alg, key, message))).toBe(createHmac(NODE_NAMES[alg], key).update(message).digest("hex"));
    },
  );

  it("SHA-256 agrees with @chainsafe/as-sha256 on every length 0-600 and on 1 MiB", { timeout: SWEEP_TIMEOUT_MS }, () => {
    for (let length = 0; length <= 600; length++) {
      const message = pattern(length, 11);
      expect(hex(api.digest("SHA256", message))).toBe(hex(chainsafeDigest(message)));
    }
    const large = testRandom().bytes(1 << 20);
    expect(hex(api.digest("SHA256", large))).toBe(hex(chainsafeDigest(large)));
  });
});
