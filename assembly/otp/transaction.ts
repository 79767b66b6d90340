// What the token signs (docs/transaction-signing.md, "What the token signs"): the canonical transfer
// an optical frame carries, checked field by field, and its code. The token shows and signs the same
// bytes: the screens are drawn from this buffer and the code hashes this buffer.
//
//   0   1  version (TX_VERSION)          15  6  amount in yen, big-endian, 1 to TX_MAX_AMOUNT
//   1   4  bank code, ASCII digits       21  8  the bank's nonce (freshness: each transfer is new)
//   5   3  branch, ASCII digits          29  1  account name length n, 0 to TX_MAX_NAME
//   8   7  account number, ASCII digits  30  n  account name, JIS X 0201 (half-width katakana)
//
// code = OCRA (RFC 6287 §5.2) with the suite OCRA-1:HOTP-SHA256-8:QH64, Q = SHA-256(transfer) (32
// bytes: 64 hex digits), under K_tx = HKDF-SHA256(IKM = the profile's seed, salt empty, info =
// "otp-token transaction signing v1", L = 32) (RFC 5869 §2). Login codes are HOTP under the seed
// itself: neither key nor message is shared, so neither kind of code can stand for the other.
import { ALG_SHA256, STATUS_BAD_TRANSACTION, TX_CODE_DIGITS, TX_FIXED_BYTES, TX_MAX_AMOUNT, TX_MAX_NAME, TX_VERSION } from "../abi";
import { hmacForget, hmacPrepare } from "../crypto/hmac";
import { hkdfSha256 } from "../crypto/kdf";
import { mdFinal, mdInit, mdUpdate, SHARED_CTX } from "../crypto/md";
import { ocraValue } from "./ocra";

// "OCRA-1:HOTP-SHA256-8:QH64"
const SUITE: usize = memory.data<u8>([0x4f, 0x43, 0x52, 0x41, 0x2d, 0x31, 0x3a, 0x48, 0x4f, 0x54, 0x50, 0x2d, 0x53, 0x48, 0x41, 0x32, 0x35,
  0x36, 0x2d, 0x38, 0x3a, 0x51, 0x48, 0x36, 0x34]);
const SUITE_BYTES: u32 = 25;
// "otp-token transaction signing v1": HKDF's info, this purpose's label.
const LABEL: usize = memory.data<u8>([0x6f, 0x74, 0x70, 0x2d, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x20, 0x74, 0x72, 0x61, 0x6e, 0x73, 0x61, 0x63,
  0x74, 0x69, 0x6f, 0x6e, 0x20, 0x73, 0x69, 0x67, 0x6e, 0x69, 0x6e, 0x67, 0x20, 0x76, 0x31]);
const LABEL_BYTES: u32 = 32;

export const TX_BANK: usize = 1;
export const TX_BRANCH: usize = 5;
export const TX_ACCOUNT: usize = 8;
export const TX_AMOUNT: usize = 15;
export const TX_NONCE: usize = 21;
export const TX_NAME_LENGTH: usize = 29;
export const TX_NAME: usize = 30;

// K_tx and the question: zeroed before transactionCode returns. The prepared HMAC states of K_tx go
// in a region the caller lends (KEY_SIZE bytes): the token lends its login key's, which RAM is
// too scarce to duplicate, and prepares that key again afterwards.
const TX_KEY: usize = memory.data(32);
const QUESTION: usize = memory.data(32);

function digits(at: usize, count: usize): bool {
  for (let i: usize = 0; i < count; i++) {
    const c = load<u8>(at + i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** JIS X 0201 characters a bank account name may hold: half-width katakana and marks, 0-9, A-Z, space ( ) - . */
function nameCharacter(c: u32): bool {
  return (c >= 0xa1 && c <= 0xdf) || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c == 0x20 || c == 0x28 || c == 0x29 || c == 0x2d || c == 0x2e;
}

/** The amount in yen of a checked transfer. */
export function transactionAmount(tx: usize): u64 {
  return (<u64>bswap<u16>(load<u16>(tx + TX_AMOUNT)) << 32) | <u64>bswap<u32>(load<u32>(tx + TX_AMOUNT + 2));
}

/** Whether the `len` bytes at `tx` are a canonical transfer. Called once per decoded frame. */
export function transactionValid(tx: usize, len: u32): bool {
  if (len < TX_FIXED_BYTES || load<u8>(tx) != <u8>TX_VERSION) return false;
  if (!digits(tx + TX_BANK, 4) || !digits(tx + TX_BRANCH, 3) || !digits(tx + TX_ACCOUNT, 7)) return false;
  const amount = transactionAmount(tx);
  if (amount == 0 || amount > TX_MAX_AMOUNT) return false;
  const nameLength = <u32>load<u8>(tx + TX_NAME_LENGTH);
  if (nameLength > TX_MAX_NAME || len != TX_FIXED_BYTES + nameLength) return false;
  for (let i: usize = 0; i < <usize>nameLength; i++) if (!nameCharacter(<u32>load<u8>(tx + TX_NAME + i))) return false;
  return true;
}

/**
 * The transfer's code (8 digits, as a number) under the profile seed at `seed`, or STATUS_BAD_TRANSACTION.
 * `prepared` is KEY_SIZE bytes of scratch for K_tx's HMAC states, zeroed before returning. Called once
 * per confirming hold (and by the host library's core for the bank).
 */
export function transactionCode(seed: usize, seedLen: u32, tx: usize, len: u32, prepared: usize): i32 {
  if (!transactionValid(tx, len)) return STATUS_BAD_TRANSACTION;
  hkdfSha256(TX_KEY, 32, seed, seedLen, 0, 0, LABEL, LABEL_BYTES);
  hmacPrepare(prepared, ALG_SHA256, TX_KEY, 32);
  memory.fill(TX_KEY, 0, 32);
  mdInit(SHARED_CTX, ALG_SHA256);
  mdUpdate(SHARED_CTX, tx, len);
  mdFinal(SHARED_CTX, QUESTION);
  const code = ocraValue(prepared, SUITE, SUITE_BYTES, 0, 0, QUESTION, 32, 0, 0, 0, 0, 0, TX_CODE_DIGITS);
  hmacForget(prepared);
  memory.fill(QUESTION, 0, 32);
  return code;
}
