// Power-cut-safe storage of the one state record (store/record.ts) in NOR flash.
//
// Every page of the flash is a slot for one copy of the record. A change is written copy-on-write
// into the page after the newest one, with the next sequence number: erase, check the erase, program,
// read back. The newest copy stays untouched until the new one is complete, so after a power cut at
// any instruction the device boots into either the old or the new state (the torn copy fails its
// CRC and is ignored). Writing round the ring spreads erases evenly over all pages.
import { BROWN_OUT_MILLIVOLTS, FLASH_PAGE_BYTES, FLASH_SIZE_BYTES, STATUS_LOW_BATTERY, STATUS_OK, STATUS_STORAGE } from "../abi";
import { batteryMillivolts, flashErase, flashProgram, flashRead } from "../hal";
import { crc32, crc32Update } from "./crc32";
import { R_CRC, R_MAGIC, R_SEQUENCE, R_SIZE, R_VERSION, RECORD, RECORD_MAGIC, RECORD_SIZE, RECORD_VERSION } from "./record";

export const PAGES: u32 = FLASH_SIZE_BYTES / FLASH_PAGE_BYTES;
// @ts-ignore: compile-time check
assert(<u32>RECORD_SIZE <= FLASH_PAGE_BYTES);

/** Scratch for reading pages in chunks (RAM is scarce: no second record buffer). */
const CHUNK: u32 = 64;
const SCRATCH: usize = memory.data(<i32>CHUNK);

/** The page holding the newest valid record, or PAGES when there is none. */
let newestPage: u32 = PAGES;

/**
 * The sequence number of the valid record in `page`, or -1 if the page holds none (bad magic,
 * version, size or CRC). Reads the page in chunks, so no second record buffer is needed.
 */
function pageSequence(page: u32): i64 {
  const base = page * FLASH_PAGE_BYTES;
  flashRead(base, SCRATCH, CHUNK);
  if (load<u32>(SCRATCH + R_MAGIC) != RECORD_MAGIC || load<u16>(SCRATCH + R_VERSION) != RECORD_VERSION
    || <usize>load<u16>(SCRATCH + R_SIZE) != RECORD_SIZE) return -1;
  const sequence = load<u32>(SCRATCH + R_SEQUENCE);
  let crc: u32 = 0xffffffff;
  for (let offset: u32 = 0; offset < <u32>R_CRC; offset += CHUNK) {
    const n = min(CHUNK, <u32>R_CRC - offset);
    flashRead(base + offset, SCRATCH, n);
    crc = crc32Update(crc, SCRATCH, n);
  }
  flashRead(base + <u32>R_CRC, SCRATCH, 4);
  return load<u32>(SCRATCH) == ~crc ? <i64>sequence : -1;
}

/**
 * Loads the newest valid record into RECORD (boot). Returns true if one was found; false leaves
 * RECORD zeroed (a fresh device, or one whose first write never completed).
 */
export function storeLoad(): bool {
  newestPage = PAGES;
  let newestSequence: i64 = -1;
  for (let page: u32 = 0; page < PAGES; page++) {
    const sequence = pageSequence(page);
    if (sequence > newestSequence) {
      newestPage = page;
      newestSequence = sequence;
    }
  }
  revert();
  return newestPage != PAGES;
}

/** True when every byte of the page reads 0xFF. */
function erased(page: u32): bool {
  const base = page * FLASH_PAGE_BYTES;
  for (let offset: u32 = 0; offset < FLASH_PAGE_BYTES; offset += CHUNK) {
    flashRead(base + offset, SCRATCH, CHUNK);
    for (let i: usize = 0; i < <usize>CHUNK; i += 8) if (load<u64>(SCRATCH + i) != 0xffffffffffffffff) return false;
  }
  return true;
}

/** True when flash at `address` holds the `len` bytes at `ptr`. */
function matches(address: u32, ptr: usize, len: u32): bool {
  for (let offset: u32 = 0; offset < len; offset += CHUNK) {
    const n = min(CHUNK, len - offset);
    flashRead(address + offset, SCRATCH, n);
    if (memory.compare(SCRATCH, ptr + offset, n) != 0) return false;
  }
  return true;
}

/** Puts the newest stored record back into RAM, undoing changes that could not be committed. */
function revert(): void {
  if (newestPage == PAGES) memory.fill(RECORD, 0, RECORD_SIZE);
  else flashRead(newestPage * FLASH_PAGE_BYTES, RECORD, <u32>RECORD_SIZE);
}

/**
 * Writes RECORD as the new newest record. Refuses below the brown-out voltage (a write that browns
 * out is a torn write; better not to start). On any failure the previous record stays the newest
 * and RAM is put back to it, so a refused change leaves no trace.
 */
export function storeCommit(): i32 {
  const status = write();
  if (status != STATUS_OK) revert();
  return status;
}

function write(): i32 {
  if (batteryMillivolts() < BROWN_OUT_MILLIVOLTS) return STATUS_LOW_BATTERY;
  const sequence = newestPage == PAGES ? 1 : load<u32>(RECORD + R_SEQUENCE) + 1;
  const page = newestPage == PAGES ? 0 : (newestPage + 1) % PAGES;
  store<u32>(RECORD + R_MAGIC, RECORD_MAGIC);
  store<u16>(RECORD + R_VERSION, RECORD_VERSION);
  store<u16>(RECORD + R_SIZE, <u16>RECORD_SIZE);
  store<u32>(RECORD + R_SEQUENCE, sequence);
  store<u32>(RECORD + R_CRC, crc32(RECORD, R_CRC));
  const address = page * FLASH_PAGE_BYTES;
  let attempt = 0;
  // An erase can fail to complete (worn page, brown-out): check it, retry once.
  do {
    if (flashErase(page) != 0) return STATUS_STORAGE;
    attempt++;
  } while (!erased(page) && attempt < 2);
  if (!erased(page)) return STATUS_STORAGE;
  if (flashProgram(address, RECORD, <u32>RECORD_SIZE) != 0 || !matches(address, RECORD, <u32>RECORD_SIZE)) return STATUS_STORAGE;
  newestPage = page;
  return STATUS_OK;
}
