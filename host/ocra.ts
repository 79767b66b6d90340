// OCRA, the OATH Challenge-Response Algorithm (RFC 6287): the suite parser and the library call.
// The suite is parsed strictly here, with errors that say what is accepted; the wasm core (the
// firmware's assembly/otp/ocra.ts) builds DataInput and computes the HMAC and its truncation.
//
//   OCRASuite = "OCRA-1:" CryptoFunction ":" DataInput                       (RFC 6287 §6)
//   CryptoFunction = "HOTP-" ("SHA1" | "SHA256" | "SHA512") "-" t, t = 0 or 4..10  (§6.2)
//   DataInput = ["C-"] "Q" ("A" | "N" | "H") xx ["-P" H] ["-S" nnn] ["-T" G]     (§6.3)
//     xx 04..64 characters; H SHA1 | SHA256 | SHA512; nnn 001..999 bytes;
//     G 1..59 "S", 1..59 "M" or 1..48 "H"
import { OCRA_COUNTER, OCRA_MAX_SESSION, OCRA_QUESTION_BYTES, OCRA_TIME } from "./abi.js";
import { check, type Core } from "./core.js";
import { type Algorithm, algorithmId, split64 } from "./otp.js";

export type OcraQuestionFormat = "A" | "N" | "H";

/** A parsed OCRA suite (RFC 6287 §6). */
export interface OcraSuite {
  /** The suite string as given: it is the first part of DataInput (§5.1). */
  readonly text: string;
  readonly algorithm: Algorithm;
  /** Code digits: 0 (the whole HMAC, as hex) or 4 to 10. */
  readonly digits: number;
  /** The suite names a counter C. */
  readonly counter: boolean;
  /** QA (characters), QN (decimal digits) or QH (hex digits), and the most characters a question has. */
  readonly question: { readonly format: OcraQuestionFormat; readonly maxLength: number };
  /** The hash of the password P, if the suite names one. */
  readonly password?: Algorithm;
  /** Bytes of session information S, if the suite names it. */
  readonly sessionBytes?: number;
  /** Seconds in one time step T, if the suite names it. */
  readonly timeStepSeconds?: number;
}

export interface OcraInput {
  /**
   * The challenge: characters for QA, decimal digits for QN, hex digits for QH; at most the suite's xx,
   * or twice that for the two challenges of mutual challenge-response (RFC 6287 §7.3).
   */
  question: string;
  /** The counter C (0 to 2^64-1): required when the suite has C, refused otherwise. */
  counter?: number | bigint;
  /**
   * P: the password (a string, hashed here with the suite's P hash) or its hash (bytes of that hash's
   * length). Required when the suite has P, refused otherwise.
   */
  password?: string | Uint8Array;
  /** S: exactly the suite's nnn bytes. Required when the suite has S, refused otherwise. */
  session?: Uint8Array;
  /**
   * The time, in Unix seconds; T is floor(time / step) of the suite's step (RFC 6287 §5.1). Required
   * when the suite has T, refused otherwise.
   */
  time?: number | bigint;
}

const SUITE_FORM =
  "OCRA-1:HOTP-<SHA1|SHA256|SHA512>-<0|4..10>:[C-]Q<A|N|H><04..64>[-P<SHA1|SHA256|SHA512>][-S<001..999>][-T<1..59S|1..59M|1..48H>]";
const HASHES: readonly Algorithm[] = ["SHA1", "SHA256", "SHA512"];
const DIGEST_BYTES: Record<Algorithm, number> = { SHA1: 20, SHA256: 32, SHA512: 64 };
const STEP_UNIT: Record<string, { seconds: number; max: number }> = {
  S: { seconds: 1, max: 59 },
  M: { seconds: 60, max: 59 },
  H: { seconds: 3600, max: 48 },
};

function suiteError(suite: string, problem: string): RangeError {
  return new RangeError(`OCRA suite ${JSON.stringify(suite)}: ${problem}; the form is ${SUITE_FORM} (RFC 6287 §6)`);
}

function hashName(suite: string, name: string, what: string): Algorithm {
  if ((HASHES as readonly string[]).includes(name)) return name as Algorithm;
  throw suiteError(suite, `${what} ${JSON.stringify(name)} is not SHA1, SHA256 or SHA512`);
}

/** Parses an OCRA suite (RFC 6287 §6), strictly: upper case, the elements in DataInput's order. */
export function parseOcraSuite(suite: unknown): OcraSuite {
  if (typeof suite !== "string") throw new TypeError(`OCRA suite must be a string like "OCRA-1:HOTP-SHA1-6:QN08", got ${typeof suite}`);
  const parts = suite.split(":");
  if (parts.length !== 3) throw suiteError(suite, `it has ${parts.length} part(s) separated by ":", not 3`);
  const [version, cryptoFunction, dataInput] = parts;
  if (version !== "OCRA-1") throw suiteError(suite, `the algorithm ${JSON.stringify(version)} is not OCRA-1 (§6.1)`);

  const crypto = /^HOTP-([A-Z0-9]+)-(\d+)$/.exec(cryptoFunction);
  if (!crypto) throw suiteError(suite, `the crypto function ${JSON.stringify(cryptoFunction)} is not HOTP-<hash>-<digits> (§6.2)`);
  const algorithm = hashName(suite, crypto[1], "the crypto function's hash");
  const digits = Number(crypto[2]);
  if (!/^(0|[4-9]|10)$/.test(crypto[2]))
    throw suiteError(suite, `the truncation ${JSON.stringify(crypto[2])} is not 0 (no truncation) or 4 to 10 digits (§6.2)`);

  const elements = dataInput.split("-");
  let next = 0;
  const counter = elements[next] === "C";
  if (counter) next++;
  const q = /^Q([ANH])(\d\d)$/.exec(elements[next] ?? "");
  if (!q) {
    throw suiteError(
      suite,
      `DataInput ${JSON.stringify(dataInput)} must have the question QA, QN or QH with a two-digit length (like QN08), after C if any (§6.3)`,
    );
  }
  next++;
  const maxLength = Number(q[2]);
  if (maxLength < 4 || maxLength > 64) throw suiteError(suite, `the question length ${q[2]} is not 04 to 64 (§6.3)`);
  let password: Algorithm | undefined;
  let sessionBytes: number | undefined;
  let timeStepSeconds: number | undefined;
  // The optional elements, each at most once and in DataInput's order: P, S, T (§5.1).
  const order = ["P", "S", "T"];
  let seen = -1;
  for (; next < elements.length; next++) {
    const element = elements[next];
    const kind = order.indexOf(element[0]);
    if (kind < 0) throw suiteError(suite, `${JSON.stringify(element)} is not one of P<hash>, S<nnn> or T<step> (C comes first, then Q)`);
    if (kind <= seen) throw suiteError(suite, `${JSON.stringify(element)} is out of order or repeated: the order is C, Q, P, S, T`);
    seen = kind;
    const rest = element.slice(1);
    if (kind === 0) {
      password = hashName(suite, rest, "the password hash");
    } else if (kind === 1) {
      if (!/^\d{3}$/.test(rest) || Number(rest) < 1)
        throw suiteError(
          suite,
          `session information ${JSON.stringify(element)} must be S and three digits 001 to ${OCRA_MAX_SESSION} (bytes)`,
        );
      sessionBytes = Number(rest);
    } else {
      const step = /^([1-9]\d?)([SMH])$/.exec(rest);
      const unit = step && STEP_UNIT[step[2]];
      if (!step || !unit || Number(step[1]) > unit.max) {
        throw suiteError(suite, `the time step ${JSON.stringify(element)} must be T and 1-59S, 1-59M or 1-48H`);
      }
      timeStepSeconds = Number(step[1]) * unit.seconds;
    }
  }
  return {
    text: suite,
    algorithm,
    digits,
    counter,
    question: { format: q[1] as OcraQuestionFormat, maxLength },
    password,
    sessionBytes,
    timeStepSeconds,
  };
}

/**
 * The question in its binary form (RFC 6287 §5.1), at most 128 bytes before padding. As in the RFC's
 * reference implementation (Appendix A), a QN decimal becomes its hex digits and those, like QH's, are
 * read left-aligned: an odd count gets a 0 nibble after the last; QA characters are their bytes.
 */
export function ocraQuestionBytes(suite: OcraSuite, question: unknown): Uint8Array {
  const { format, maxLength } = suite.question;
  const kinds = { A: "printable ASCII characters", N: "decimal digits", H: "hex digits" };
  if (typeof question !== "string") throw new TypeError(`question must be a string of ${kinds[format]}, got ${typeof question}`);
  // xx bounds one challenge; mutual challenge-response signs the client's and the server's challenges
  // together (RFC 6287 §7.3; Appendix C.2 has QA08 questions of 16 characters), so a question holds two.
  if (question.length < 1 || question.length > 2 * maxLength) {
    throw new RangeError(
      `question must be 1 to ${2 * maxLength} ${kinds[format]} (suite Q${format}${String(maxLength).padStart(2, "0")}: one challenge of up to ${maxLength}, or two for mutual challenge-response), got ${question.length}`,
    );
  }
  if (format === "A") {
    if (!/^[\x20-\x7e]+$/.test(question)) throw new RangeError(`question must be printable ASCII characters for QA (RFC 6287 §6.3)`);
    return new TextEncoder().encode(question);
  }
  let hex: string;
  if (format === "N") {
    if (!/^[0-9]+$/.test(question)) throw new RangeError(`question must be decimal digits 0-9 for QN (RFC 6287 §6.3)`);
    hex = BigInt(question).toString(16);
  } else {
    if (!/^[0-9a-fA-F]+$/.test(question)) throw new RangeError(`question must be hex digits 0-9 A-F for QH (RFC 6287 §6.3)`);
    hex = question;
  }
  if (hex.length % 2) hex += "0";
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

function refuseExtra(suite: OcraSuite, input: OcraInput, name: keyof OcraInput, element: string): void {
  if (input[name] !== undefined) throw new TypeError(`${name} was given but suite ${JSON.stringify(suite.text)} has no ${element} element`);
}

function required<T>(suite: OcraSuite, value: T | undefined, name: string, element: string): T {
  if (value === undefined) throw new TypeError(`suite ${JSON.stringify(suite.text)} has ${element}: ${name} is required`);
  return value;
}

/** The OCRA code (RFC 6287 §5.2) for `suite` under `key`: digits, or the whole HMAC in hex for t = 0. */
export function computeOcra(core: Core, suiteText: unknown, key: Uint8Array, input: OcraInput): string {
  const suite = parseOcraSuite(suiteText);
  if (!(key instanceof Uint8Array) || key.length === 0) throw new TypeError("key must be a non-empty Uint8Array (bytes)");
  if (typeof input !== "object" || input === null)
    throw new TypeError("the third argument must be { question, counter?, password?, session?, time? }");
  const question = ocraQuestionBytes(suite, input.question);

  let counter: [number, number] = [0, 0];
  if (suite.counter) counter = split64(required(suite, input.counter, "counter", "C"), "counter");
  else refuseExtra(suite, input, "counter", "C");

  let password: Uint8Array = new Uint8Array(0);
  if (suite.password) {
    const given = required(suite, input.password, "password", `P${suite.password}`);
    const bytes = DIGEST_BYTES[suite.password];
    if (typeof given === "string") {
      password = core.main.digest(algorithmId(suite.password), new TextEncoder().encode(given));
    } else if (given instanceof Uint8Array && given.length === bytes) {
      password = given;
    } else {
      throw new TypeError(`password must be the password as a string, or its ${suite.password} hash as ${bytes} bytes`);
    }
  } else refuseExtra(suite, input, "password", "P");

  let session: Uint8Array = new Uint8Array(0);
  if (suite.sessionBytes !== undefined) {
    const given = required(suite, input.session, "session", `S${String(suite.sessionBytes).padStart(3, "0")}`);
    if (!(given instanceof Uint8Array) || given.length !== suite.sessionBytes) {
      throw new RangeError(`session must be exactly ${suite.sessionBytes} bytes (pad shorter information with zero bytes on the left)`);
    }
    session = given;
  } else refuseExtra(suite, input, "session", "S");

  let step: [number, number] = [0, 0];
  if (suite.timeStepSeconds !== undefined) {
    const [high, low] = split64(required(suite, input.time, "time", "T"), "time");
    const seconds = (BigInt(high) << 32n) | BigInt(low);
    step = split64(seconds / BigInt(suite.timeStepSeconds), "time step");
  } else refuseExtra(suite, input, "time", "T");

  const fields = (suite.counter ? OCRA_COUNTER : 0) | (suite.timeStepSeconds !== undefined ? OCRA_TIME : 0);
  const suiteBytes = new TextEncoder().encode(suite.text);
  const instance = core.main;
  instance.prepareKey(0, algorithmId(suite.algorithm), key);
  try {
    let at = 0;
    for (const part of [suiteBytes, question, password, session]) {
      instance.io.set(part, at);
      at += part.length;
    }
    const value = check(
      instance.exports.ocra(
        0,
        suiteBytes.length,
        question.length,
        password.length,
        session.length,
        fields,
        ...counter,
        ...step,
        suite.digits,
      ),
      "computing the OCRA code",
    );
    if (suite.digits === 0) return Array.from(instance.io.subarray(0, value), (b) => b.toString(16).padStart(2, "0")).join("");
    return String(value).padStart(suite.digits, "0");
  } finally {
    instance.io.fill(0, 0, suiteBytes.length + OCRA_QUESTION_BYTES + 64 + OCRA_MAX_SESSION);
    instance.exports.keyForget(0);
  }
}
