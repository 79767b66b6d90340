// SHA-1 block function and initial value (FIPS 180-4 §6.1, §5.3.1). Buffering and padding: md.ts.
// SHA-1 is kept for HOTP/TOTP interoperability (RFC 4226 default), where HMAC-SHA-1 remains sound.

/** Message schedule scratch: 80 words. */
const W: usize = memory.data(320);

export function sha1Init(state: usize): void {
  store<u32>(state, 0x67452301);
  store<u32>(state, 0xefcdab89, 4);
  store<u32>(state, 0x98badcfe, 8);
  store<u32>(state, 0x10325476, 12);
  store<u32>(state, 0xc3d2e1f0, 16);
}

export function sha1Block(state: usize, block: usize): void {
  for (let i: usize = 0; i < 64; i += 4) store<u32>(W + i, bswap<u32>(load<u32>(block + i)));
  for (let i: usize = 64; i < 320; i += 4) {
    store<u32>(W + i, rotl<u32>(load<u32>(W + i - 12) ^ load<u32>(W + i - 32) ^ load<u32>(W + i - 56) ^ load<u32>(W + i - 64), 1));
  }
  let a = load<u32>(state), b = load<u32>(state, 4), c = load<u32>(state, 8);
  let d = load<u32>(state, 12), e = load<u32>(state, 16);
  for (let i: usize = 0; i < 80; i++) {
    let f: u32, k: u32;
    if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
    else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
    else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
    else { f = b ^ c ^ d; k = 0xca62c1d6; }
    const t = rotl<u32>(a, 5) + f + e + k + load<u32>(W + (i << 2));
    e = d; d = c; c = rotl<u32>(b, 30); b = a; a = t;
  }
  store<u32>(state, load<u32>(state) + a);
  store<u32>(state, load<u32>(state, 4) + b, 4);
  store<u32>(state, load<u32>(state, 8) + c, 8);
  store<u32>(state, load<u32>(state, 12) + d, 12);
  store<u32>(state, load<u32>(state, 16) + e, 16);
}

/** Zeroes the schedule, which held message words (keys, when called from HMAC). */
export function sha1Wipe(): void {
  memory.fill(W, 0, 320);
}
