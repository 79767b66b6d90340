// SHA-256 block function and initial value (FIPS 180-4 §6.2, §4.2.2, §5.3.3). Buffering and
// padding: md.ts. The 64 rounds run eight to a loop iteration with the working variables renamed
// instead of shifted, so the optimiser keeps them in registers.

const K: usize = memory.data<u32>([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const IV: usize = memory.data<u32>([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** Message schedule scratch: 64 words. */
const W: usize = memory.data(256);

export function sha256Init(state: usize): void {
  memory.copy(state, IV, 32);
}

// T1: h + Σ1(e) + Ch(e,f,g) + K[i] + W[i].
// @ts-ignore: decorator
@inline function t1(e: u32, f: u32, g: u32, h: u32, i: usize): u32 {
  return h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + (g ^ (e & (f ^ g)))
    + load<u32>(K + (i << 2)) + load<u32>(W + (i << 2));
}

// T2: Σ0(a) + Maj(a,b,c).
// @ts-ignore: decorator
@inline function t2(a: u32, b: u32, c: u32): u32 {
  return (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) | (c & (a | b)));
}

export function sha256Block(state: usize, block: usize): void {
  for (let i: usize = 0; i < 64; i += 4) store<u32>(W + i, bswap<u32>(load<u32>(block + i)));
  for (let i: usize = 64; i < 256; i += 4) {
    const w15 = load<u32>(W + i - 60);
    const w2 = load<u32>(W + i - 8);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(W + i, load<u32>(W + i - 64) + s0 + load<u32>(W + i - 28) + s1);
  }
  let a = load<u32>(state), b = load<u32>(state, 4), c = load<u32>(state, 8), d = load<u32>(state, 12);
  let e = load<u32>(state, 16), f = load<u32>(state, 20), g = load<u32>(state, 24), h = load<u32>(state, 28);
  let t: u32;
  for (let i: usize = 0; i < 64; i += 8) {
    t = t1(e, f, g, h, i); d += t; h = t + t2(a, b, c);
    t = t1(d, e, f, g, i + 1); c += t; g = t + t2(h, a, b);
    t = t1(c, d, e, f, i + 2); b += t; f = t + t2(g, h, a);
    t = t1(b, c, d, e, i + 3); a += t; e = t + t2(f, g, h);
    t = t1(a, b, c, d, i + 4); h += t; d = t + t2(e, f, g);
    t = t1(h, a, b, c, i + 5); g += t; c = t + t2(d, e, f);
    t = t1(g, h, a, b, i + 6); f += t; b = t + t2(c, d, e);
    t = t1(f, g, h, a, i + 7); e += t; a = t + t2(b, c, d);
  }
  store<u32>(state, load<u32>(state) + a);
  store<u32>(state, load<u32>(state, 4) + b, 4);
  store<u32>(state, load<u32>(state, 8) + c, 8);
  store<u32>(state, load<u32>(state, 12) + d, 12);
  store<u32>(state, load<u32>(state, 16) + e, 16);
  store<u32>(state, load<u32>(state, 20) + f, 20);
  store<u32>(state, load<u32>(state, 24) + g, 24);
  store<u32>(state, load<u32>(state, 28) + h, 28);
}

/** Zeroes the schedule, which held message words (keys, when called from HMAC). */
export function sha256Wipe(): void {
  memory.fill(W, 0, 256);
}
