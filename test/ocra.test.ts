// OCRA (RFC 6287): every vector of Appendix C, vectors for the other suite elements computed by the
// RFC's own reference implementation (Appendix A, Java; test/data/ocra-reference.json says how), the
// untruncated and 9-10 digit forms against node:crypto over DataInput built here from §5.1, and the
// suite parser's refusals. Run on every build of the core.
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseOcraSuite } from "../host/ocra.js";
import { otpApi } from "../host/otp.js";
import { ascii, CORE_BUILDS, fromHex } from "./helpers.js";

// The keys of RFC 6287 Appendix C: "12345678901234567890..." cut to 20, 32 and 64 bytes.
const KEY20 = ascii("12345678901234567890");
const KEY32 = ascii("12345678901234567890123456789012");
const KEY64 = ascii("1234567890123456789012345678901234567890123456789012345678901234");
/** SHA-1 of "1234", the PIN of Appendix C. */
const PIN_SHA1 = "7110eda4d09e062aa5e4a390b0a572ac0d2c0220";
/** Appendix C's timestamp 0x132d0b6 is a count of minutes (T1M): this is its first second. */
const T_132D0B6 = 0x132d0b6 * 60;

interface Vector {
  suite: string;
  key: Uint8Array;
  question: string;
  counter?: number;
  password?: string;
  time?: number;
  expected: string;
}

const q = (...pairs: [string, string][]) => pairs;
const APPENDIX_C: Vector[] = [
  // C.1 One-way challenge-response
  ...q(
    ["00000000", "237653"],
    ["11111111", "243178"],
    ["22222222", "653583"],
    ["33333333", "740991"],
    ["44444444", "608993"],
    ["55555555", "388898"],
    ["66666666", "816933"],
    ["77777777", "224598"],
    ["88888888", "750600"],
    ["99999999", "294470"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA1-6:QN08", key: KEY20, question, expected })),
  ...["65347737", "86775851", "78192410", "71565254", "10104329", "65983500", "70069104", "91771096", "75011558", "08522129"].map(
    (expected, counter) => ({
      suite: "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1",
      key: KEY32,
      question: "12345678",
      counter,
      password: "1234",
      expected,
    }),
  ),
  ...q(
    ["00000000", "83238735"],
    ["11111111", "01501458"],
    ["22222222", "17957585"],
    ["33333333", "86776967"],
    ["44444444", "86807031"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA256-8:QN08-PSHA1", key: KEY32, question, password: "1234", expected })),
  ...["07016083", "63947962", "70123924", "25341727", "33203315", "34205738", "44343969", "51946085", "20403879", "31409299"].map(
    (expected, counter) => ({ suite: "OCRA-1:HOTP-SHA512-8:C-QN08", key: KEY64, question: String(counter).repeat(8), counter, expected }),
  ),
  ...q(
    ["00000000", "95209754"],
    ["11111111", "55907591"],
    ["22222222", "22048402"],
    ["33333333", "24218844"],
    ["44444444", "36209546"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA512-8:QN08-T1M", key: KEY64, question, time: T_132D0B6, expected })),
  // C.2 Mutual challenge-response: the server's, then the client's computations
  ...q(
    ["CLI22220SRV11110", "28247970"],
    ["CLI22221SRV11111", "01984843"],
    ["CLI22222SRV11112", "65387857"],
    ["CLI22223SRV11113", "03351211"],
    ["CLI22224SRV11114", "83412541"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA256-8:QA08", key: KEY32, question, expected })),
  ...q(
    ["SRV11110CLI22220", "15510767"],
    ["SRV11111CLI22221", "90175646"],
    ["SRV11112CLI22222", "33777207"],
    ["SRV11113CLI22223", "95285278"],
    ["SRV11114CLI22224", "28934924"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA256-8:QA08", key: KEY32, question, expected })),
  ...q(
    ["CLI22220SRV11110", "79496648"],
    ["CLI22221SRV11111", "76831980"],
    ["CLI22222SRV11112", "12250499"],
    ["CLI22223SRV11113", "90856481"],
    ["CLI22224SRV11114", "12761449"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA512-8:QA08", key: KEY64, question, expected })),
  ...q(
    ["SRV11110CLI22220", "18806276"],
    ["SRV11111CLI22221", "70020315"],
    ["SRV11112CLI22222", "01600026"],
    ["SRV11113CLI22223", "18951020"],
    ["SRV11114CLI22224", "32528969"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA512-8:QA08-PSHA1", key: KEY64, question, password: "1234", expected })),
  // C.3 Plain signature
  ...q(
    ["SIG10000", "53095496"],
    ["SIG11000", "04110475"],
    ["SIG12000", "31331128"],
    ["SIG13000", "76028668"],
    ["SIG14000", "46554205"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA256-8:QA08", key: KEY32, question, expected })),
  ...q(
    ["SIG1000000", "77537423"],
    ["SIG1100000", "31970405"],
    ["SIG1200000", "10235557"],
    ["SIG1300000", "95213541"],
    ["SIG1400000", "65360607"],
  ).map(([question, expected]) => ({ suite: "OCRA-1:HOTP-SHA512-8:QA10-T1M", key: KEY64, question, time: T_132D0B6, expected })),
];

interface ReferenceCase {
  suite: string;
  key: string;
  question: string;
  counter?: string;
  password?: string;
  passwordHash?: string;
  session?: string;
  time?: string;
  expected: string;
}
const REFERENCE = JSON.parse(readFileSync(new URL("./data/ocra-reference.json", import.meta.url), "utf8")) as { cases: ReferenceCase[] };

/** DataInput of RFC 6287 §5.1, built here from the suite's parsed form, for the node:crypto checks. */
function dataInput(suite: string, question: Uint8Array, counter?: bigint): Buffer {
  const c = Buffer.alloc(counter === undefined ? 0 : 8);
  if (counter !== undefined) c.writeBigUInt64BE(counter);
  const padded = Buffer.alloc(128);
  padded.set(question);
  return Buffer.concat([Buffer.from(suite, "latin1"), Buffer.from([0]), c, padded]);
}

/** RFC 4226 §5.3 dynamic truncation of an HMAC to its 31-bit value. */
function truncate(mac: Buffer): number {
  const offset = mac[mac.length - 1] & 0xf;
  return mac.readUInt32BE(offset) & 0x7fffffff;
}

describe.each(CORE_BUILDS)("OCRA, %s build", (build) => {
  const api = otpApi(build);

  it(`every vector of RFC 6287 Appendix C (${APPENDIX_C.length})`, () => {
    expect(APPENDIX_C).toHaveLength(10 + 10 + 5 + 10 + 5 + 5 + 5 + 5 + 5 + 5 + 5);
    for (const v of APPENDIX_C) {
      const { suite, key, expected, ...input } = v;
      expect(api.ocra(suite, key, input), `${suite} ${input.question}`).toBe(expected);
    }
    // The PIN may also be given as its hash.
    expect(api.ocra("OCRA-1:HOTP-SHA256-8:QN08-PSHA1", KEY32, { question: "44444444", password: fromHex(PIN_SHA1) })).toBe("86807031");
  });

  it(`the RFC's reference implementation agrees on C, QH, QA, QN at their limits, every P, S and T (${REFERENCE.cases.length} cases)`, () => {
    const suites = new Set<string>();
    for (const c of REFERENCE.cases) {
      const input = {
        question: c.question,
        counter: c.counter === undefined ? undefined : BigInt(c.counter),
        password: c.password,
        session: c.session === undefined ? undefined : fromHex(c.session),
        time: c.time === undefined ? undefined : Number(c.time),
      };
      expect(api.ocra(c.suite, fromHex(c.key), input), `${c.suite} ${c.question}`).toBe(c.expected);
      if (c.passwordHash) expect(api.ocra(c.suite, fromHex(c.key), { ...input, password: fromHex(c.passwordHash) })).toBe(c.expected);
      suites.add(c.suite);
    }
    // Every element form: C, QA/QN/QH, PSHA1/256/512, S064..S512, T in S, M and H.
    const all = [...suites].join(" ");
    for (const element of [
      "C-",
      "QA",
      "QN",
      "QH",
      "PSHA1",
      "PSHA256",
      "PSHA512",
      "S064",
      "S128",
      "S256",
      "S512",
      "T1S",
      "T30S",
      "T59M",
      "T2H",
      "T48H",
    ]) {
      expect(all).toContain(element);
    }
  });

  it("t = 0 gives the whole HMAC, and 9 and 10 digits truncate it as RFC 4226 §5.3 does (node:crypto over §5.1's DataInput)", () => {
    for (const [hash, key] of [
      ["SHA1", KEY20],
      ["SHA256", KEY32],
      ["SHA512", KEY64],
    ] as const) {
      for (const digits of [0, 9, 10]) {
        const suite = `OCRA-1:HOTP-${hash}-${digits}:C-QH16`;
        const mac = createHmac(hash.replace("SHA", "sha"), key)
          .update(dataInput(suite, fromHex("0123456789abcdef"), 2n ** 63n + 5n))
          .digest();
        const code = api.ocra(suite, key, { question: "0123456789abcdef", counter: 2n ** 63n + 5n });
        if (digits === 0) expect(code).toBe(mac.toString("hex"));
        else expect(code).toBe(String(truncate(mac) % 10 ** digits).padStart(digits, "0"));
      }
    }
    // A QN question is its number in hex, left-aligned (Appendix A): 22222222 = 0x153158E, so 15 31 58 E0.
    const suite = "OCRA-1:HOTP-SHA1-0:QN08";
    const expected = createHmac("sha1", KEY20)
      .update(dataInput(suite, fromHex("153158e0")))
      .digest("hex");
    expect(api.ocra(suite, KEY20, { question: "22222222" })).toBe(expected);
  });

  it("every field changes the code: the counter, the question, the password, the session, the time step", () => {
    const suite = "OCRA-1:HOTP-SHA256-8:C-QA16-PSHA256-S016-T1M";
    const base = { question: "PAY 123456 JPY", counter: 7, password: "0000", session: new Uint8Array(16), time: 1_800_000_000 };
    const code = api.ocra(suite, KEY32, base);
    const changed = [
      { ...base, counter: 8 },
      { ...base, question: "PAY 123457 JPY" },
      { ...base, password: "0001" },
      { ...base, session: new Uint8Array(16).fill(1, 15) },
      { ...base, time: base.time + 60 },
    ].map((input) => api.ocra(suite, KEY32, input));
    expect(new Set([code, ...changed]).size).toBe(6);
    // Within one step the time does not matter.
    expect(api.ocra(suite, KEY32, { ...base, time: base.time - (base.time % 60) + 59 })).toBe(code);
    // The password is hashed with the suite's P hash: its SHA-256 gives the same code.
    expect(api.ocra(suite, KEY32, { ...base, password: createHash("sha256").update("0000").digest() })).toBe(code);
  });
});

describe("OCRA suites are parsed strictly", () => {
  const api = otpApi("release");

  it("reads every element", () => {
    expect(parseOcraSuite("OCRA-1:HOTP-SHA512-10:C-QH64-PSHA256-S512-T48H")).toEqual({
      text: "OCRA-1:HOTP-SHA512-10:C-QH64-PSHA256-S512-T48H",
      algorithm: "SHA512",
      digits: 10,
      counter: true,
      question: { format: "H", maxLength: 64 },
      password: "SHA256",
      sessionBytes: 512,
      timeStepSeconds: 48 * 3600,
    });
    expect(parseOcraSuite("OCRA-1:HOTP-SHA1-4:QA04")).toMatchObject({ digits: 4, counter: false, question: { format: "A", maxLength: 4 } });
  });

  // biome-ignore format: one refused suite a row, with the words its error must say
  const BAD: [unknown, RegExp][] = [
    [42, /must be a string like "OCRA-1:HOTP-SHA1-6:QN08"/],
    ["OCRA-1:HOTP-SHA1-6", /2 part\(s\).*not 3/],
    ["OCRA-2:HOTP-SHA1-6:QN08", /not OCRA-1/],
    ["ocra-1:hotp-sha1-6:qn08", /not OCRA-1/],
    ["OCRA-1:TOTP-SHA1-6:QN08", /not HOTP-<hash>-<digits>/],
    ["OCRA-1:HOTP-MD5-6:QN08", /hash "MD5" is not SHA1, SHA256 or SHA512/],
    ["OCRA-1:HOTP-SHA1-3:QN08", /truncation "3" is not 0 .* or 4 to 10/],
    ["OCRA-1:HOTP-SHA1-11:QN08", /truncation "11"/],
    ["OCRA-1:HOTP-SHA1-06:QN08", /truncation "06"/],
    ["OCRA-1:HOTP-SHA1-6:C", /must have the question QA, QN or QH/],
    ["OCRA-1:HOTP-SHA1-6:QX08", /must have the question QA, QN or QH/],
    ["OCRA-1:HOTP-SHA1-6:QN8", /two-digit length/],
    ["OCRA-1:HOTP-SHA1-6:QN03", /question length 03 is not 04 to 64/],
    ["OCRA-1:HOTP-SHA1-6:QN65", /question length 65 is not 04 to 64/],
    ["OCRA-1:HOTP-SHA1-6:QN08-C", /"C" is not one of P<hash>, S<nnn> or T<step> \(C comes first/],
    ["OCRA-1:HOTP-SHA1-6:QN08-PMD5", /password hash "MD5"/],
    ["OCRA-1:HOTP-SHA1-6:QN08-S64", /S and three digits 001 to 999/],
    ["OCRA-1:HOTP-SHA1-6:QN08-S000", /S and three digits 001 to 999/],
    ["OCRA-1:HOTP-SHA1-6:QN08-T60S", /1-59S, 1-59M or 1-48H/],
    ["OCRA-1:HOTP-SHA1-6:QN08-T0M", /1-59S, 1-59M or 1-48H/],
    ["OCRA-1:HOTP-SHA1-6:QN08-T49H", /1-59S, 1-59M or 1-48H/],
    ["OCRA-1:HOTP-SHA1-6:QN08-T1D", /1-59S, 1-59M or 1-48H/],
    ["OCRA-1:HOTP-SHA1-6:QN08-T1M-PSHA1", /out of order or repeated: the order is C, Q, P, S, T/],
    ["OCRA-1:HOTP-SHA1-6:QN08-S064-S064", /out of order or repeated/],
    ["OCRA-1:HOTP-SHA1-6:QN08-", /"" is not one of/],
  ];

  it.each(BAD)("refuses %j", (suite, message) => {
    expect(() => parseOcraSuite(suite)).toThrow(message);
    expect(() => api.ocra(suite as string, KEY20, { question: "1234" })).toThrow(message);
    if (typeof suite === "string") expect(() => parseOcraSuite(suite)).toThrow(/the form is OCRA-1:HOTP-<SHA1\|SHA256\|SHA512>/);
  });

  // biome-ignore format: one refused input a row
  const BAD_INPUT: [string, object, RegExp][] = [
    ["OCRA-1:HOTP-SHA1-6:QN08", { question: "12345678901234567" }, /1 to 16 decimal digits \(suite QN08: one challenge of up to 8, or two/],
    ["OCRA-1:HOTP-SHA1-6:QN08", { question: "" }, /1 to 16 decimal digits/],
    ["OCRA-1:HOTP-SHA1-6:QN08", { question: "12a4" }, /decimal digits 0-9 for QN/],
    ["OCRA-1:HOTP-SHA1-6:QH08", { question: "12g4" }, /hex digits 0-9 A-F for QH/],
    ["OCRA-1:HOTP-SHA1-6:QA08", { question: "ｶﾅ" }, /printable ASCII characters for QA/],
    ["OCRA-1:HOTP-SHA1-6:QA08", { question: 1234 }, /question must be a string of printable ASCII/],
    ["OCRA-1:HOTP-SHA1-6:C-QN08", { question: "1234" }, /has C: counter is required/],
    ["OCRA-1:HOTP-SHA1-6:QN08", { question: "1234", counter: 1 }, /counter was given but suite .* has no C element/],
    ["OCRA-1:HOTP-SHA1-6:C-QN08", { question: "1234", counter: -1 }, /counter must be a non-negative whole number/],
    ["OCRA-1:HOTP-SHA1-6:C-QN08", { question: "1234", counter: 2n ** 64n }, /counter must be from 0 to 2\^64-1/],
    ["OCRA-1:HOTP-SHA1-6:QN08-PSHA256", { question: "1234" }, /has PSHA256: password is required/],
    ["OCRA-1:HOTP-SHA1-6:QN08-PSHA256", { question: "1234", password: new Uint8Array(20) }, /or its SHA256 hash as 32 bytes/],
    ["OCRA-1:HOTP-SHA1-6:QN08", { question: "1234", password: "1234" }, /password was given but .* has no P element/],
    ["OCRA-1:HOTP-SHA1-6:QN08-S008", { question: "1234", session: new Uint8Array(7) }, /exactly 8 bytes \(pad shorter information with zero bytes on the left\)/],
    ["OCRA-1:HOTP-SHA1-6:QN08-S008", { question: "1234" }, /has S008: session is required/],
    ["OCRA-1:HOTP-SHA1-6:QN08", { question: "1234", session: new Uint8Array(8) }, /session was given but .* has no S element/],
    ["OCRA-1:HOTP-SHA1-6:QN08-T1M", { question: "1234" }, /has T: time is required/],
    ["OCRA-1:HOTP-SHA1-6:QN08-T1M", { question: "1234", time: 1.5 }, /time must be a non-negative whole number/],
    ["OCRA-1:HOTP-SHA1-6:QN08", { question: "1234", time: 0 }, /time was given but .* has no T element/],
  ];

  it.each(BAD_INPUT)("%s refuses %o", (suite, input, message) => {
    expect(() => api.ocra(suite, KEY20, input as { question: string })).toThrow(message);
  });

  it("refuses an empty key and a missing input", () => {
    expect(() => api.ocra("OCRA-1:HOTP-SHA1-6:QN08", new Uint8Array(0), { question: "1234" })).toThrow(
      /key must be a non-empty Uint8Array/,
    );
    expect(() => api.ocra("OCRA-1:HOTP-SHA1-6:QN08", KEY20, undefined as unknown as { question: string })).toThrow(
      /\{ question, counter\?/,
    );
  });
});
