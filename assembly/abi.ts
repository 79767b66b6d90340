// The numbers that cross the WebAssembly boundary, defined once. host/abi.ts mirrors this file
// (a test checks the two agree).

/** Version of the exported interface; bumped on any incompatible change. */
export const ABI_VERSION: u32 = 4;

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
export const STATUS_BAD_FRAME: i32 = -8;
export const STATUS_UNKNOWN_COMMAND: i32 = -9;
export const STATUS_FULL: i32 = -10;
export const STATUS_DENIED: i32 = -11;
export const STATUS_LOW_BATTERY: i32 = -12;
export const STATUS_STORAGE: i32 = -13;
export const STATUS_SELF_TEST: i32 = -14;
export const STATUS_BAD_LABEL: i32 = -15;
export const STATUS_BAD_SEED: i32 = -16;
// -17 and -18 are retired (never used); not to be reused.
export const STATUS_BAD_IDENTITY: i32 = -19;
export const STATUS_BAD_PASSWORD: i32 = -20;
export const STATUS_LOCKED: i32 = -21;
export const STATUS_BAD_TAG: i32 = -22;
export const STATUS_NOT_ACTIVATING: i32 = -23;
/** An optical frame arrived whole but its CRC-32 did not match: the decoder waits for the next repetition. */
export const STATUS_BAD_CHECKSUM: i32 = -24;
/** An optical frame that is not a canonical transfer (docs/transaction-signing.md). */
export const STATUS_BAD_TRANSACTION: i32 = -25;
/** Positive: accepted, waiting for the holder to confirm on the token (erase, adding, replacing or deleting a profile). */
export const STATUS_PENDING: i32 = 1;

// Button events, delivered by button(event). A press is released before LONG_PRESS_SECONDS;
// a hold fires once when the button has been down that long; release follows a hold.
export const BUTTON_PRESS: u32 = 1;
export const BUTTON_HOLD: u32 = 2;
export const BUTTON_RELEASE: u32 = 3;

// Display modes: what the framebuffer shows (DISPLAY_MODEL.mode).
export const MODE_OFF: u32 = 0;
export const MODE_NOT_SET_UP: u32 = 1;
export const MODE_ACTIVATING: u32 = 2;
export const MODE_LOCKED: u32 = 3;
export const MODE_CLOCK_LOST: u32 = 4;
export const MODE_LOW_BATTERY: u32 = 5;
export const MODE_SELF_TEST_FAILED: u32 = 6;
export const MODE_STORAGE_ERROR: u32 = 7;
export const MODE_ERASE_CONFIRM: u32 = 8;
export const MODE_OTP: u32 = 9;
export const MODE_INFO: u32 = 10;
/** A host asked to add a profile to a token that holds one: the holder confirms with a hold. */
export const MODE_ADD_CONFIRM: u32 = 11;
/**
 * A registration (ACTIVATE_FINISH) for a Service ID the token already holds: the new profile replaces
 * that one when the holder holds button A within ERASE_WINDOW_SECONDS (one record write).
 */
export const MODE_REPLACE_CONFIRM: u32 = 12;
/** The holder held button A on a code, or a host asked to delete one profile: a second hold deletes it. */
export const MODE_DELETE_CONFIRM: u32 = 13;
/** The token read a transfer (optical channel): payee and amount in turn; a hold signs it, a press refuses. */
export const MODE_TRANSFER: u32 = 14;
/** The transfer's code, after the confirming hold. */
export const MODE_TRANSFER_CODE: u32 = 15;
/** Scan mode: the light sensors are powered and sampled until a frame arrives, a press, or SCAN_WINDOW_SECONDS. */
export const MODE_SCAN: u32 = 16;

// Link commands: the first byte of a frame in LINK_BUFFER. Multi-byte fields are little-endian.
// The response replaces the frame: a status byte (i8), then the command's fields.
export const LINK_INFO: u32 = 1;
export const LINK_SET_TIME: u32 = 2;
export const LINK_ADD_PROFILE: u32 = 3;
export const LINK_LIST_PROFILES: u32 = 4;
export const LINK_ERASE: u32 = 5;
export const LINK_ACTIVATE_BEGIN: u32 = 6;
export const LINK_ACTIVATE_FINISH: u32 = 7;
/**
 * Abandons the activation under way (the bank refused the request, or the token refused the bank's answer
 * at "register"): its secrets are zeroed and the token leaves ACTIVATING.
 */
export const LINK_ACTIVATE_CANCEL: u32 = 8;
/** Asks to delete one profile (its index); the holder confirms with a hold, as for ERASE. */
export const LINK_DELETE_PROFILE: u32 = 9;

// The activation protocol (docs/activation.md, version 2: CPace): byte 0 of every message is the
// version, byte 1 its kind; each kind has one length. The firmware, the relay and the bank use these.
export const ACTIVATION_VERSION: u32 = 2;
export const ACTIVATION_REQUEST: u32 = 1;
export const ACTIVATION_RESPONSE: u32 = 2;
export const ACTIVATION_CONFIRMATION: u32 = 3;
export const ACTIVATION_REQUEST_BYTES: u32 = 82;
export const ACTIVATION_RESPONSE_BYTES: u32 = 117;
export const ACTIVATION_CONFIRMATION_BYTES: u32 = 106;

// OCRA (RFC 6287), the core's ocra export: which optional fields the suite names (its `fields`
// argument), and the sizes RFC 6287 fixes (§5.1: Q is 128 bytes; §6.3: Snnn has three digits;
// §6.2: a code has 0 (the whole HMAC) or 4 to 10 digits).
export const OCRA_COUNTER: u32 = 1;
export const OCRA_TIME: u32 = 2;
export const OCRA_QUESTION_BYTES: u32 = 128;
export const OCRA_MAX_SESSION: u32 = 999;
export const OCRA_MIN_DIGITS: u32 = 4;
export const OCRA_MAX_DIGITS: u32 = 10;

// The optical channel (docs/transaction-signing.md): five light sensors under a flickering patch of
// the bank's page. Bit 0 of a sample is the clock line, bits 1-4 a data nibble (bit 1 its lowest).
// Each clock level carries one nibble, high nibble first; a frame is the marker byte, a length byte,
// its complement, that many payload bytes and the CRC-32 (IEEE, big-endian) of all after the marker
// but the CRC. Frames repeat.
/** 0xA5: alternating bits, so the marker shows every data line changing. */
export const OPTICAL_MARKER: u32 = 165;
export const OPTICAL_MAX_PAYLOAD: u32 = 96;
/** Sensor samples a second while scanning (the board's sampling timer; the page draws far fewer levels). */
export const SCAN_HZ: u32 = 240;

// Transaction signing (docs/transaction-signing.md, "What the token signs"): the canonical transfer
// the optical frame carries, and its code: OCRA-1:HOTP-SHA256-8:QH64 with Q = SHA-256 of the transfer,
// under a key HKDF-SHA256 derives from the profile's seed for this purpose alone.
export const TX_VERSION: u32 = 1;
/** version 1, bank code 4, branch 3, account 7, amount 6, nonce 8, name length 1. */
export const TX_FIXED_BYTES: u32 = 30;
/** Account name: up to 30 characters of JIS X 0201 (half-width katakana, digits, A-Z, space ( ) - .). */
export const TX_MAX_NAME: u32 = 30;
/** Largest amount, in yen (12 digits). */
export const TX_MAX_AMOUNT: u64 = 999999999999;
export const TX_CODE_DIGITS: u32 = 8;

// Board facts the firmware relies on (the simulator's defaults match; a test checks).
export const FLASH_SIZE_BYTES: u32 = 16384;
export const FLASH_PAGE_BYTES: u32 = 1024;
/** The battery gauge empties below this: weeks before BROWN_OUT on a CR2032's knee (docs/hardware.md). */
export const LOW_BATTERY_MILLIVOLTS: u32 = 2500;
export const BROWN_OUT_MILLIVOLTS: u32 = 2200;

// Token limits.
export const MAX_PROFILES: u32 = 8;
export const MAX_LABEL: u32 = 12;
/** A Service ID: 8 ASCII digits, stored with each profile the bank registered (one profile per service). */
export const SERVICE_ID_BYTES: u32 = 8;
/** Last digits of the Service ID shown after a label that two profiles share. */
export const SERVICE_SUFFIX_DIGITS: u32 = 4;
export const MIN_SEED: u32 = 16;
export const MAX_SEED: u32 = 64;
export const PANEL_ON_SECONDS: u32 = 60;
export const LONG_PRESS_SECONDS: u32 = 2;
/**
 * Seconds the holder has to hold button A after a host asks to erase, to add a profile to a token
 * that already holds one, to replace or delete a profile; without the hold nothing changes.
 */
export const ERASE_WINDOW_SECONDS: u32 = 10;
/**
 * The panel never turns off within this many seconds of a new code appearing (the holder sees the
 * change the countdown announced); a shorter step keeps at most its own length less one second.
 */
export const NEW_CODE_SHOWN_SECONDS: u32 = 10;
/** Failed activation responses before the token refuses to activate (until erased). */
export const MAX_ACTIVATION_FAILURES: u32 = 5;
/** Seconds an activation may wait for the bank's response (the panel stays on meanwhile). */
export const ACTIVATION_WINDOW_SECONDS: u32 = 300;
/** Seconds a transfer the token read stays on screen to be confirmed (and its code after the hold). */
export const TRANSFER_WINDOW_SECONDS: u32 = 60;
/**
 * Seconds scan mode waits for a frame (a hold on the info screen starts it) before the sensors go off and
 * the panel goes dark.
 */
export const SCAN_WINDOW_SECONDS: u32 = 30;
/** Seconds each of a transfer's screens shows before the next. */
export const TRANSFER_SCREEN_SECONDS: u32 = 2;
export const FIRMWARE_MAJOR: u32 = 1;
export const FIRMWARE_MINOR: u32 = 1;
