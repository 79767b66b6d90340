// The numbers that cross the WebAssembly boundary, defined once. host/abi.ts mirrors this file
// (a test checks the two agree).

/** Version of the exported interface; bumped on any incompatible change. */
export const ABI_VERSION: u32 = 1;

// Hash algorithms (the values are stored in flash records: never renumber).
export const ALG_SHA1: u32 = 1;
export const ALG_SHA256: u32 = 2;
export const ALG_SHA512: u32 = 3;

// Status codes returned by exports. Zero is success; negatives are errors.
export const STATUS_OK: i32 = 0;
export const STATUS_BAD_ALGORITHM: i32 = -1;
export const STATUS_BAD_LENGTH: i32 = -2;
export const STATUS_BAD_DIGITS: i32 = -3;
export const STATUS_BAD_PERIOD: i32 = -4;
export const STATUS_BAD_TIME: i32 = -5;
export const STATUS_BAD_SLOT: i32 = -6;
export const STATUS_NO_MATCH: i32 = -7;
