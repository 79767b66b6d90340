// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), bitwise: no table, since it runs over one
// small record per boot and per write. Detects every torn write of a record (the tail is 0xFF).

/** CRC-32 of `len` bytes at `ptr`. */
export function crc32(ptr: usize, len: usize): u32 {
  return ~crc32Update(0xffffffff, ptr, len);
}

/** Continues a CRC-32 register over more bytes (start with 0xffffffff, finish with ~). */
export function crc32Update(crc: u32, ptr: usize, len: usize): u32 {
  for (let i: usize = 0; i < len; i++) {
    crc ^= <u32>load<u8>(ptr + i);
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & (0 - (crc & 1)));
  }
  return crc;
}
