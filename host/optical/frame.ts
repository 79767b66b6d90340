// The optical frame (docs/transaction-signing.md, "The optical channel"), the bank's side: payload
// bytes -> the nibbles the page draws, one per clock level. The token's decoder is
// assembly/optical/decoder.ts; the constants are host/abi.ts's mirror of assembly/abi.ts.
import { OPTICAL_MARKER, OPTICAL_MAX_PAYLOAD } from "../abi.js";

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as assembly/store/crc32.ts computes it. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/** The frame's bytes: marker, length, its complement, payload, CRC-32 of all but the marker (big-endian). */
export function frameBytes(payload: Uint8Array): Uint8Array {
  if (!(payload instanceof Uint8Array) || payload.length < 1 || payload.length > OPTICAL_MAX_PAYLOAD) {
    throw new RangeError(`an optical frame carries 1 to ${OPTICAL_MAX_PAYLOAD} payload bytes, got ${payload?.length}`);
  }
  const frame = new Uint8Array(3 + payload.length + 4);
  frame[0] = OPTICAL_MARKER;
  frame[1] = payload.length;
  frame[2] = payload.length ^ 0xff;
  frame.set(payload, 3);
  new DataView(frame.buffer).setUint32(3 + payload.length, crc32(frame.subarray(1, 3 + payload.length)));
  return frame;
}

/** The nibbles the page shows, one per clock level, high nibble of each byte first. */
export function frameNibbles(payload: Uint8Array): number[] {
  const nibbles: number[] = [];
  for (const byte of frameBytes(payload)) nibbles.push(byte >>> 4, byte & 0xf);
  return nibbles;
}

/**
 * The five lines of clock level `index` showing `nibble`: bit 0 the clock (it toggles every level),
 * bits 1-4 the nibble, lowest bit first. This is what the sensors should see.
 */
export function levelMask(index: number, nibble: number): number {
  return (index & 1) | ((nibble & 0xf) << 1);
}

/** The frame as text, for manual entry (chipTAN's fallback): the bytes in hex, grouped by four. */
export function frameText(payload: Uint8Array): string {
  const hex = Array.from(frameBytes(payload), (b) => b.toString(16).padStart(2, "0").toUpperCase()).join("");
  return hex.replace(/(.{8})(?=.)/g, "$1 ");
}

/**
 * The payload of a frame typed by hand (frameText's form: hex digits, spaces and dashes ignored, any
 * case). Checks the marker, the length and its complement, and the CRC-32, with errors that say
 * which; what the optical path would refuse, manual entry refuses too.
 */
export function parseFrameText(text: string): Uint8Array {
  if (typeof text !== "string") throw new TypeError("frame text must be a string of hex digits");
  const hex = text.replace(/[\s-]+/g, "");
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new RangeError("frame text must be pairs of hex digits 0-9 A-F (spaces allowed)");
  const bytes = Uint8Array.from(hex.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
  if (bytes[0] !== OPTICAL_MARKER) throw new RangeError(`frame text must start with the marker A5, got ${hex.slice(0, 2).toUpperCase()}`);
  const length = bytes[1] ?? 0;
  if (length < 1 || length > OPTICAL_MAX_PAYLOAD || bytes[2] !== (length ^ 0xff)) {
    throw new RangeError("the frame's length and its complement (bytes 2 and 3) do not agree: check the first characters");
  }
  if (bytes.length !== 3 + length + 4) {
    throw new RangeError(`the frame says ${length} payload bytes, so it has ${2 * (3 + length + 4)} hex digits; got ${hex.length}`);
  }
  const sent = new DataView(bytes.buffer).getUint32(3 + length);
  if (crc32(bytes.subarray(1, 3 + length)) !== sent)
    throw new RangeError("the frame's check (CRC-32) does not match: a character was mistyped");
  return bytes.slice(3, 3 + length);
}
