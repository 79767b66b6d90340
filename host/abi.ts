// Mirror of assembly/abi.ts: the numbers that cross the WebAssembly boundary. Defined once per side;
// test/abi.test.ts checks the two files agree, so edit both together.

export const ABI_VERSION = 1;

export const ALG_SHA1 = 1;
export const ALG_SHA256 = 2;
export const ALG_SHA512 = 3;

export const STATUS_OK = 0;
export const STATUS_BAD_ALGORITHM = -1;
export const STATUS_BAD_LENGTH = -2;
export const STATUS_BAD_DIGITS = -3;
export const STATUS_BAD_PERIOD = -4;
export const STATUS_BAD_TIME = -5;
export const STATUS_BAD_SLOT = -6;
export const STATUS_NO_MATCH = -7;

/** What each negative status means, for error messages. */
export const STATUS_TEXT: Record<number, string> = {
  [STATUS_BAD_ALGORITHM]: "unknown algorithm",
  [STATUS_BAD_LENGTH]: "length out of range",
  [STATUS_BAD_DIGITS]: "digits out of range",
  [STATUS_BAD_PERIOD]: "period out of range",
  [STATUS_BAD_TIME]: "time before t0",
  [STATUS_BAD_SLOT]: "no key in slot",
  [STATUS_NO_MATCH]: "no match",
};
