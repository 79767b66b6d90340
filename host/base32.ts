// Base32 (RFC 4648 §6) decoding for keys given the way authenticator apps and otpauth:// URIs show
// them: case-insensitive, spaces and dashes ignored, '=' padding optional. Lengths are judged as
// oathtool 2.6.7 judges them (it pads to a multiple of 8 and decodes strictly): a last group of 1, 3
// or 6 characters encodes no whole byte and is refused, and so is padding past the last group.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Characters in the last 8-character group that RFC 4648 §6 allows (0 = none: the groups are whole). */
const WHOLE_GROUP_TAILS = [0, 2, 4, 5, 7];

export function decodeBase32(text: string): Uint8Array {
  const compact = text.toUpperCase().replace(/[\s-]/g, "");
  const clean = compact.replace(/=+$/, "");
  const padding = compact.length - clean.length;
  const tail = clean.length % 8;
  if (!WHOLE_GROUP_TAILS.includes(tail)) {
    throw new RangeError(
      `a base32 key of ${clean.length} characters is not whole bytes: its last group of 8 has ${tail}; base32 groups end with 2, 4, 5, 7 or 8 characters`,
    );
  }
  if (padding > (tail === 0 ? 0 : 8 - tail)) {
    throw new RangeError(
      `the base32 key has ${padding} '=' of padding where ${tail === 0 ? "none belongs" : `at most ${8 - tail} belong`}`,
    );
  }
  const out = new Uint8Array(Math.floor((clean.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let index = 0;
  for (let i = 0; i < clean.length; i++) {
    const digit = ALPHABET.indexOf(clean[i]);
    if (digit < 0)
      throw new RangeError(`base32 key has ${JSON.stringify(clean[i])} at position ${i + 1}: use the letters A-Z and the digits 2-7`);
    value = (value << 5) | digit;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[index++] = (value >>> bits) & 0xff;
    }
  }
  return out;
}

export function encodeBase32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(value >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
