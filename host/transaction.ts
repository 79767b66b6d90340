// The canonical transfer the optical frame carries and the token signs (docs/transaction-signing.md,
// "What the token signs"; the byte layout is assembly/otp/transaction.ts's): encoding with errors that
// say what is accepted, decoding, the text the token shows, and the code (computed by the firmware's
// own module in the wasm core, so the bank checks exactly what the token computes).
import { STATUS_BAD_TRANSACTION, TX_CODE_DIGITS, TX_FIXED_BYTES, TX_MAX_AMOUNT, TX_MAX_NAME, TX_VERSION } from "./abi.js";
import { check, core, type CoreBuild } from "./core.js";

/** The OCRA suite of transfer codes: Q is the SHA-256 of the canonical transfer, in hex (RFC 6287 §6). */
export const TRANSACTION_SUITE = "OCRA-1:HOTP-SHA256-8:QH64";
/** HKDF-SHA256's info for the transfer key: this purpose's label (RFC 5869 §2.3). */
export const TRANSACTION_KEY_LABEL = "otp-token transaction signing v1";

export interface Transfer {
  /** 4-digit bank code (金融機関コード). */
  bankCode: string;
  /** 3-digit branch code (支店コード). */
  branch: string;
  /** 7-digit account number (口座番号). */
  account: string;
  /** Amount in yen, 1 to 999,999,999,999. */
  amount: number;
  /** The bank's 8-byte nonce: every transfer is signed fresh. */
  nonce: Uint8Array;
  /** Account name in half-width katakana (JIS X 0201 as Unicode U+FF61-U+FF9F), 0-9, A-Z, space ( ) - .; up to 30. */
  name?: string;
}

/** Half-width katakana U+FF61..U+FF9F are JIS X 0201 0xA1..0xDF. */
const HALF_WIDTH_BASE = 0xff61 - 0xa1;

function nameByte(char: string): number | undefined {
  const code = char.codePointAt(0) ?? 0;
  if (code >= 0xff61 && code <= 0xff9f) return code - HALF_WIDTH_BASE;
  if (/^[0-9A-Z ()\-.]$/.test(char)) return code;
  return undefined;
}

function digitsField(value: unknown, count: number, what: string): string {
  if (typeof value !== "string" || !new RegExp(`^[0-9]{${count}}$`).test(value)) {
    throw new RangeError(`${what} must be exactly ${count} digits 0-9, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The canonical bytes of `transfer`. */
export function encodeTransfer(transfer: Transfer): Uint8Array {
  const bank = digitsField(transfer.bankCode, 4, "bankCode");
  const branch = digitsField(transfer.branch, 3, "branch");
  const account = digitsField(transfer.account, 7, "account");
  const { amount, nonce } = transfer;
  if (!Number.isSafeInteger(amount) || amount < 1 || amount > TX_MAX_AMOUNT) {
    throw new RangeError(`amount must be a whole number of yen from 1 to ${TX_MAX_AMOUNT}, got ${String(amount)}`);
  }
  if (!(nonce instanceof Uint8Array) || nonce.length !== 8) throw new TypeError("nonce must be 8 bytes");
  const name = [...(transfer.name ?? "")].map((char) => {
    const byte = nameByte(char);
    if (byte === undefined) {
      throw new RangeError(`name may hold half-width katakana, 0-9, A-Z, space ( ) - . only; ${JSON.stringify(char)} is not one of them`);
    }
    return byte;
  });
  if (name.length > TX_MAX_NAME) throw new RangeError(`name must be at most ${TX_MAX_NAME} characters, got ${name.length}`);
  const bytes = new Uint8Array(TX_FIXED_BYTES + name.length);
  bytes[0] = TX_VERSION;
  bytes.set(new TextEncoder().encode(bank + branch + account), 1);
  const view = new DataView(bytes.buffer);
  view.setUint16(15, Math.floor(amount / 2 ** 32));
  view.setUint32(17, amount >>> 0);
  bytes.set(nonce, 21);
  bytes[29] = name.length;
  bytes.set(name, 30);
  return bytes;
}

/** The transfer in canonical bytes, read back; throws RangeError for anything else. */
export function decodeTransfer(bytes: Uint8Array): Transfer {
  const fail = (why: string) => new RangeError(`not a canonical transfer: ${why}`);
  if (bytes.length < TX_FIXED_BYTES) throw fail(`${bytes.length} bytes, fewer than ${TX_FIXED_BYTES}`);
  if (bytes[0] !== TX_VERSION) throw fail(`version ${bytes[0]}, not ${TX_VERSION}`);
  const ascii = new TextDecoder("latin1").decode(bytes.subarray(1, 15));
  if (!/^[0-9]{14}$/.test(ascii)) throw fail("bank code, branch and account must be digits");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const amount = view.getUint16(15) * 2 ** 32 + view.getUint32(17);
  if (amount < 1 || amount > TX_MAX_AMOUNT) throw fail(`amount ${amount} out of range`);
  const nameLength = bytes[29];
  if (nameLength > TX_MAX_NAME || bytes.length !== TX_FIXED_BYTES + nameLength) throw fail("name length does not match");
  const name = Array.from(bytes.subarray(30), (byte) => {
    const char = byte >= 0xa1 && byte <= 0xdf ? String.fromCodePoint(byte + HALF_WIDTH_BASE) : String.fromCharCode(byte);
    if (nameByte(char) === undefined) throw fail(`name byte 0x${byte.toString(16)}`);
    return char;
  }).join("");
  return {
    bankCode: ascii.slice(0, 4),
    branch: ascii.slice(4, 7),
    account: ascii.slice(7, 14),
    amount,
    nonce: bytes.slice(21, 29),
    ...(nameLength ? { name } : {}),
  };
}

/** What the token shows of the transfer, a screen at a time: payee, name (if any), amount. */
export function transferScreens(bytes: Uint8Array): string[] {
  const t = decodeTransfer(bytes);
  const screens = [`TO ${t.bankCode}-${t.branch} ${t.account}`];
  if (t.name) screens.push(t.name);
  screens.push(`JPY ${t.amount.toLocaleString("en-US")}`);
  return screens;
}

/** The code the token gives for `transfer` (canonical bytes) under the profile's `seed`. */
export function transferCode(seed: Uint8Array, transfer: Uint8Array, build: CoreBuild = "release"): string {
  const instance = core(build).main;
  if (!(seed instanceof Uint8Array) || seed.length === 0) throw new TypeError("seed must be non-empty bytes");
  decodeTransfer(transfer);
  instance.io.set(seed);
  instance.io.set(transfer, seed.length);
  const value = instance.exports.transactionCode(seed.length, transfer.length);
  instance.io.fill(0, 0, seed.length + transfer.length);
  if (value === STATUS_BAD_TRANSACTION) throw new RangeError("not a canonical transfer");
  return String(check(value, "computing the transfer code")).padStart(TX_CODE_DIGITS, "0");
}
