// Mirror of assembly/abi.ts: the numbers that cross the WebAssembly boundary. Defined once per side;
// test/abi.test.ts checks the two files agree, so edit both together.

export const ABI_VERSION = 4;

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
export const STATUS_BAD_FRAME = -8;
export const STATUS_UNKNOWN_COMMAND = -9;
export const STATUS_FULL = -10;
export const STATUS_DENIED = -11;
export const STATUS_LOW_BATTERY = -12;
export const STATUS_STORAGE = -13;
export const STATUS_SELF_TEST = -14;
export const STATUS_BAD_LABEL = -15;
export const STATUS_BAD_SEED = -16;
// -17 and -18 are retired (never used); not to be reused.
export const STATUS_BAD_IDENTITY = -19;
export const STATUS_BAD_PASSWORD = -20;
export const STATUS_LOCKED = -21;
export const STATUS_BAD_TAG = -22;
export const STATUS_NOT_ACTIVATING = -23;
/** An optical frame arrived whole but its CRC-32 did not match: the decoder waits for the next repetition. */
export const STATUS_BAD_CHECKSUM = -24;
/** An optical frame that is not a canonical transfer (docs/transaction-signing.md). */
export const STATUS_BAD_TRANSACTION = -25;
/** Positive: accepted, waiting for the holder to confirm on the token (erase, adding, replacing or deleting a profile). */
export const STATUS_PENDING = 1;

// Button events, delivered by button(event). A press is released before LONG_PRESS_SECONDS;
// a hold fires once when the button has been down that long; release follows a hold.
export const BUTTON_PRESS = 1;
export const BUTTON_HOLD = 2;
export const BUTTON_RELEASE = 3;

// Display modes: what the framebuffer shows (DISPLAY_MODEL.mode).
export const MODE_OFF = 0;
export const MODE_NOT_SET_UP = 1;
export const MODE_ACTIVATING = 2;
export const MODE_LOCKED = 3;
export const MODE_CLOCK_LOST = 4;
export const MODE_LOW_BATTERY = 5;
export const MODE_SELF_TEST_FAILED = 6;
export const MODE_STORAGE_ERROR = 7;
export const MODE_ERASE_CONFIRM = 8;
export const MODE_OTP = 9;
export const MODE_INFO = 10;
/** A host asked to add a profile to a token that holds one: the holder confirms with a hold. */
export const MODE_ADD_CONFIRM = 11;
/**
 * A registration (ACTIVATE_FINISH) for a Service ID the token already holds: the new profile replaces
 * that one when the holder holds button A within ERASE_WINDOW_SECONDS (one record write).
 */
export const MODE_REPLACE_CONFIRM = 12;
/** The holder held button A on a code, or a host asked to delete one profile: a second hold deletes it. */
export const MODE_DELETE_CONFIRM = 13;
/** The token read a transfer (optical channel): payee and amount in turn; a hold signs it, a press refuses. */
export const MODE_TRANSFER = 14;
/** The transfer's code, after the confirming hold. */
export const MODE_TRANSFER_CODE = 15;
/** Scan mode: the light sensors are powered and sampled until a frame arrives, a press, or SCAN_WINDOW_SECONDS. */
export const MODE_SCAN = 16;

// Link commands: the first byte of a frame in LINK_BUFFER. Multi-byte fields are little-endian.
// The response replaces the frame: a status byte (i8), then the command's fields.
export const LINK_INFO = 1;
export const LINK_SET_TIME = 2;
export const LINK_ADD_PROFILE = 3;
export const LINK_LIST_PROFILES = 4;
export const LINK_ERASE = 5;
export const LINK_ACTIVATE_BEGIN = 6;
export const LINK_ACTIVATE_FINISH = 7;
/**
 * Abandons the activation under way (the bank refused the request, or the token refused the bank's answer
 * at "register"): its secrets are zeroed and the token leaves ACTIVATING.
 */
export const LINK_ACTIVATE_CANCEL = 8;
/** Asks to delete one profile (its index); the holder confirms with a hold, as for ERASE. */
export const LINK_DELETE_PROFILE = 9;

// The activation protocol (docs/activation.md, version 2: CPace): byte 0 of every message is the
// version, byte 1 its kind; each kind has one length. The firmware, the relay and the bank use these.
export const ACTIVATION_VERSION = 2;
export const ACTIVATION_REQUEST = 1;
export const ACTIVATION_RESPONSE = 2;
export const ACTIVATION_CONFIRMATION = 3;
export const ACTIVATION_REQUEST_BYTES = 82;
export const ACTIVATION_RESPONSE_BYTES = 117;
export const ACTIVATION_CONFIRMATION_BYTES = 106;

// OCRA (RFC 6287), the core's ocra export: which optional fields the suite names (its `fields`
// argument), and the sizes RFC 6287 fixes (§5.1: Q is 128 bytes; §6.3: Snnn has three digits;
// §6.2: a code has 0 (the whole HMAC) or 4 to 10 digits).
export const OCRA_COUNTER = 1;
export const OCRA_TIME = 2;
export const OCRA_QUESTION_BYTES = 128;
export const OCRA_MAX_SESSION = 999;
export const OCRA_MIN_DIGITS = 4;
export const OCRA_MAX_DIGITS = 10;

// The optical channel (docs/transaction-signing.md): five light sensors under a flickering patch of
// the bank's page. Bit 0 of a sample is the clock line, bits 1-4 a data nibble (bit 1 its lowest).
// Each clock level carries one nibble, high nibble first; a frame is the marker byte, a length byte,
// its complement, that many payload bytes and the CRC-32 (IEEE, big-endian) of all after the marker
// but the CRC. Frames repeat.
/** 0xA5: alternating bits, so the marker shows every data line changing. */
export const OPTICAL_MARKER = 165;
export const OPTICAL_MAX_PAYLOAD = 96;
/** Sensor samples a second while scanning (the board's sampling timer; the page draws far fewer levels). */
export const SCAN_HZ = 240;

// Transaction signing (docs/transaction-signing.md, "What the token signs"): the canonical transfer
// the optical frame carries, and its code: OCRA-1:HOTP-SHA256-8:QH64 with Q = SHA-256 of the transfer,
// under a key HKDF-SHA256 derives from the profile's seed for this purpose alone.
export const TX_VERSION = 1;
/** version 1, bank code 4, branch 3, account 7, amount 6, nonce 8, name length 1. */
export const TX_FIXED_BYTES = 30;
/** Account name: up to 30 characters of JIS X 0201 (half-width katakana, digits, A-Z, space ( ) - .). */
export const TX_MAX_NAME = 30;
/** Largest amount, in yen (12 digits). */
export const TX_MAX_AMOUNT = 999999999999;
export const TX_CODE_DIGITS = 8;

// Board facts the firmware relies on (the simulator's defaults match; a test checks).
export const FLASH_SIZE_BYTES = 16384;
export const FLASH_PAGE_BYTES = 1024;
/** The battery gauge empties below this: weeks before BROWN_OUT on a CR2032's knee (docs/hardware.md). */
export const LOW_BATTERY_MILLIVOLTS = 2500;
export const BROWN_OUT_MILLIVOLTS = 2200;

// Token limits.
export const MAX_PROFILES = 8;
export const MAX_LABEL = 12;
/** A Service ID: 8 ASCII digits, stored with each profile the bank registered (one profile per service). */
export const SERVICE_ID_BYTES = 8;
/** Last digits of the Service ID shown after a label that two profiles share. */
export const SERVICE_SUFFIX_DIGITS = 4;
export const MIN_SEED = 16;
export const MAX_SEED = 64;
export const PANEL_ON_SECONDS = 60;
export const LONG_PRESS_SECONDS = 2;
/**
 * Seconds the holder has to hold button A after a host asks to erase, to add a profile to a token
 * that already holds one, to replace or delete a profile; without the hold nothing changes.
 */
export const ERASE_WINDOW_SECONDS = 10;
/**
 * The panel never turns off within this many seconds of a new code appearing (the holder sees the
 * change the countdown announced); a shorter step keeps at most its own length less one second.
 */
export const NEW_CODE_SHOWN_SECONDS = 10;
/** Failed activation responses before the token refuses to activate (until erased). */
export const MAX_ACTIVATION_FAILURES = 5;
/** Seconds an activation may wait for the bank's response (the panel stays on meanwhile). */
export const ACTIVATION_WINDOW_SECONDS = 300;
/** Seconds a transfer the token read stays on screen to be confirmed (and its code after the hold). */
export const TRANSFER_WINDOW_SECONDS = 60;
/** Seconds scan mode waits for a frame (a hold on the info screen starts it) before the sensors go off and the panel goes dark. */
export const SCAN_WINDOW_SECONDS = 30;
/** Seconds each of a transfer's screens shows before the next. */
export const TRANSFER_SCREEN_SECONDS = 2;
export const FIRMWARE_MAJOR = 1;
export const FIRMWARE_MINOR = 1;

/** What each negative status means, for error messages. */
export const STATUS_TEXT: Record<number, string> = {
  [STATUS_BAD_ALGORITHM]: "unknown algorithm",
  [STATUS_BAD_LENGTH]: "length out of range",
  [STATUS_BAD_DIGITS]: "digits out of range",
  [STATUS_BAD_PERIOD]: "period out of range",
  [STATUS_BAD_TIME]: "time before t0",
  [STATUS_BAD_SLOT]: "no key in slot",
  [STATUS_NO_MATCH]: "no match",
  [STATUS_BAD_FRAME]: "malformed or truncated command frame",
  [STATUS_UNKNOWN_COMMAND]: "unknown command",
  [STATUS_FULL]: `the token already holds ${MAX_PROFILES} profiles`,
  [STATUS_DENIED]: "refused in the token's current state",
  [STATUS_LOW_BATTERY]: "battery too low to write flash",
  [STATUS_STORAGE]: "flash storage error",
  [STATUS_SELF_TEST]: "the token failed its self-test",
  [STATUS_BAD_LABEL]: `label must be 1-${MAX_LABEL} characters A-Z 0-9 space - . / :`,
  [STATUS_BAD_SEED]: `seed must be ${MIN_SEED}-${MAX_SEED} bytes`,
  [STATUS_BAD_IDENTITY]: "Service ID must be 8 digits and User ID 16 upper-case letters or digits",
  [STATUS_BAD_PASSWORD]: "activation password must be 4-8 letters or digits",
  [STATUS_LOCKED]: `activation is locked after ${MAX_ACTIVATION_FAILURES} failed responses; erase the token to start again`,
  [STATUS_BAD_TAG]: "the bank's response failed its check (wrong activation password, or not from the bank)",
  [STATUS_NOT_ACTIVATING]: "no activation is under way (it was abandoned or finished)",
  [STATUS_BAD_CHECKSUM]: "an optical frame failed its CRC-32",
  [STATUS_BAD_TRANSACTION]: "not a canonical transfer",
  [STATUS_PENDING]: "waiting for the holder to confirm on the token",
};
