// The token's screens, one function each; every one clears and redraws the whole frame. The host
// (or the device loop) calls one of them once per second while the panel is on. Layout constants are
// exported so a decoder reading the pixels back agrees with the drawing by construction.

import { bigDigitOffset, bigDigitsWidth, clear, drawBigDigits, drawNameText, drawRect, drawText, FB_HEIGHT, FB_WIDTH,
  fillRect, textWidth } from "./framebuffer";
import { SMALL_ADVANCE } from "./font";
import { copyText, decimalDigits, formatDecimal, formatHex } from "./text";

// Screen kinds for drawStatusScreen are the display modes of assembly/abi.ts (SCREEN_OFF: panel
// off, framebuffer cleared); the SCREEN_* names are only local aliases.
import {
  MODE_ACTIVATING as SCREEN_ACTIVATING, MODE_ADD_CONFIRM as SCREEN_ADD_CONFIRM, MODE_CLOCK_LOST as SCREEN_CLOCK_LOST, MODE_ERASE_CONFIRM as SCREEN_ERASE_CONFIRM,
  MODE_LOCKED as SCREEN_LOCKED, MODE_LOW_BATTERY as SCREEN_LOW_BATTERY, MODE_NOT_SET_UP as SCREEN_NOT_SET_UP,
  MODE_OFF as SCREEN_OFF, MODE_REPLACE_CONFIRM as SCREEN_REPLACE_CONFIRM, MODE_SCAN as SCREEN_SCAN, MODE_SELF_TEST_FAILED as SCREEN_SELF_TEST_FAILED,
  MODE_STORAGE_ERROR as SCREEN_STORAGE_ERROR,
} from "../abi";
export {
  SCREEN_ACTIVATING, SCREEN_ADD_CONFIRM, SCREEN_CLOCK_LOST, SCREEN_ERASE_CONFIRM, SCREEN_LOCKED, SCREEN_LOW_BATTERY, SCREEN_NOT_SET_UP,
  SCREEN_OFF, SCREEN_REPLACE_CONFIRM, SCREEN_SCAN, SCREEN_SELF_TEST_FAILED, SCREEN_STORAGE_ERROR,
};

// OTP screen layout: rows 0-6 label (left) and battery (right); rows 8-23 the code; rows 25-31 the
// seconds left (bottom left) and the countdown bar beside them.
export const OTP_LABEL_MAX_CHARS: u32 = 12;
export const OTP_DIGITS_Y: i32 = 8;
export const OTP_COUNTDOWN_Y: i32 = 25;
export const OTP_COUNTDOWN_HEIGHT: i32 = 7;
/** Battery icon: a 15x7 body with 0-4 bars and a 2x3 terminal on its right, flush top right. */
export const BATTERY_WIDTH: i32 = 17;
export const BATTERY_HEIGHT: i32 = 7;
export const BATTERY_X: i32 = FB_WIDTH - BATTERY_WIDTH;
export const BATTERY_Y: i32 = 0;
export const BATTERY_MAX_LEVEL: u32 = 4;

// Fixed texts: ASCII, each prefixed with its length.
const TEXT_NOT_SET_UP: usize = memory.data<u8>([10, 0x4e, 0x4f, 0x54, 0x20, 0x53, 0x45, 0x54, 0x20, 0x55, 0x50]); // "NOT SET UP"
const TEXT_ACTIVATING: usize = memory.data<u8>([10, 0x41, 0x43, 0x54, 0x49, 0x56, 0x41, 0x54, 0x49, 0x4e, 0x47]); // "ACTIVATING"
const TEXT_LOCKED: usize = memory.data<u8>([6, 0x4c, 0x4f, 0x43, 0x4b, 0x45, 0x44]); // "LOCKED"
const TEXT_CLOCK_LOST: usize = memory.data<u8>([10, 0x43, 0x4c, 0x4f, 0x43, 0x4b, 0x20, 0x4c, 0x4f, 0x53, 0x54]); // "CLOCK LOST"
const TEXT_SET_TIME: usize = memory.data<u8>([8, 0x53, 0x45, 0x54, 0x20, 0x54, 0x49, 0x4d, 0x45]); // "SET TIME"
const TEXT_LOW: usize = memory.data<u8>([3, 0x4c, 0x4f, 0x57]); // "LOW"
const TEXT_BATTERY: usize = memory.data<u8>([7, 0x42, 0x41, 0x54, 0x54, 0x45, 0x52, 0x59]); // "BATTERY"
const TEXT_SELF_TEST_FAIL: usize = memory.data<u8>([14, 0x53, 0x45, 0x4c, 0x46, 0x20, 0x54, 0x45, 0x53, 0x54, 0x20, 0x46, 0x41, 0x49, 0x4c]); // "SELF TEST FAIL"
const TEXT_STORAGE_ERR: usize = memory.data<u8>([11, 0x53, 0x54, 0x4f, 0x52, 0x41, 0x47, 0x45, 0x20, 0x45, 0x52, 0x52]); // "STORAGE ERR"
const TEXT_HOLD_A: usize = memory.data<u8>([6, 0x48, 0x4f, 0x4c, 0x44, 0x20, 0x41]); // "HOLD A"
const TEXT_TO_ERASE: usize = memory.data<u8>([8, 0x54, 0x4f, 0x20, 0x45, 0x52, 0x41, 0x53, 0x45]); // "TO ERASE"
const TEXT_TO_ADD: usize = memory.data<u8>([6, 0x54, 0x4f, 0x20, 0x41, 0x44, 0x44]); // "TO ADD"
const TEXT_TO_REPLACE: usize = memory.data<u8>([10, 0x54, 0x4f, 0x20, 0x52, 0x45, 0x50, 0x4c, 0x41, 0x43, 0x45]); // "TO REPLACE"
const TEXT_HOLD_A_TO_DELETE: usize = memory.data<u8>([16, 0x48, 0x4f, 0x4c, 0x44, 0x20, 0x41, 0x20, 0x54, 0x4f, 0x20, 0x44, 0x45, 0x4c, 0x45, 0x54, 0x45]); // "HOLD A TO DELETE"
const TEXT_PRESS_TO_KEEP: usize = memory.data<u8>([12, 0x50, 0x52, 0x45, 0x53, 0x53, 0x20, 0x54, 0x4f, 0x20, 0x4b, 0x45, 0x45, 0x50]); // "PRESS TO KEEP"
const TEXT_PRESS_TO_CANCEL: usize = memory.data<u8>([17, 0x50, 0x52, 0x45, 0x53, 0x53, 0x20, 0x41, 0x20, 0x54, 0x4f, 0x20, 0x43, 0x41, 0x4e, 0x43, 0x45, 0x4c]); // "PRESS A TO CANCEL"
const TEXT_SCAN: usize = memory.data<u8>([4, 0x53, 0x43, 0x41, 0x4e]); // "SCAN"
const TEXT_SN: usize = memory.data<u8>([3, 0x53, 0x4e, 0x20]); // "SN "
const TEXT_FW: usize = memory.data<u8>([3, 0x46, 0x57, 0x20]); // "FW "
const TEXT_BAT: usize = memory.data<u8>([6, 0x20, 0x20, 0x42, 0x41, 0x54, 0x20]); // "  BAT "
const TEXT_MV: usize = memory.data<u8>([2, 0x4d, 0x56]); // "MV"

/**
 * Where composed lines (seconds left, error codes, the info screen) are assembled. The longest is
 * the info screen's second line with every number at 10 digits: 3 + 10 + 1 + 10 + 6 + 10 + 2 bytes.
 */
const LINE: usize = memory.data(42);

/** X of large digit `index` (0 = leftmost) of a `digits`-digit code on the OTP screen. */
export function otpDigitX(digits: u32, index: u32): i32 {
  return ((FB_WIDTH - bigDigitsWidth(digits)) >> 1) + bigDigitOffset(digits, index);
}

/**
 * X where the countdown bar starts: right of the seconds field, which is as wide as `period` in
 * digits (two for 60 s). The bar runs to the right edge.
 */
export function otpBarX(period: u32): i32 {
  return textWidth(decimalDigits(period), 1) + 3;
}

function centredBytes(y: i32, bytes: usize, length: u32, scale: i32): void {
  drawText((FB_WIDTH - textWidth(length, scale)) >> 1, y, bytes, length, scale);
}

/** Draws a length-prefixed text centred horizontally with its top at y. */
function centredText(y: i32, text: usize, scale: i32): void {
  centredBytes(y, text + 1, load<u8>(text), scale);
}

/** Draws the battery icon with `level` (0-4) bars. */
function drawBattery(level: u32): void {
  drawRect(BATTERY_X, BATTERY_Y, BATTERY_WIDTH - 2, BATTERY_HEIGHT);
  fillRect(BATTERY_X + BATTERY_WIDTH - 2, BATTERY_Y + 2, 2, BATTERY_HEIGHT - 4, 1);
  level = min(level, BATTERY_MAX_LEVEL);
  for (let bar: u32 = 0; bar < level; bar++) {
    fillRect(BATTERY_X + 2 + <i32>bar * 3, BATTERY_Y + 2, 2, BATTERY_HEIGHT - 4, 1);
  }
}

/**
 * The code screen, redrawn every second while a code is shown: `code` in large digits centred
 * (`digits` 6-8, leading zeros kept), `secondsLeft` (period - 1 .. 0, whole seconds until the code
 * changes) at the bottom left with a bar for the time left including the current second
 * ((secondsLeft + 1) / period: full as a code appears, a sliver at 0), the battery (`batteryLevel` 0-4 bars) at the top right
 * and up to 12 characters of the ASCII profile label at `label` at the top left.
 */
export function drawOtpScreen(code: u32, digits: u32, secondsLeft: u32, period: u32, batteryLevel: u32,
  label: usize, labelLength: u32): void {
  clear();
  drawText(0, 0, label, min(labelLength, OTP_LABEL_MAX_CHARS), 1);
  drawBattery(batteryLevel);

  digits = min(max(digits, 6), 8);
  drawBigDigits(otpDigitX(digits, 0), OTP_DIGITS_Y, code, digits);

  if (period == 0) period = 1;
  secondsLeft = min(secondsLeft, period - 1);
  const shownDigits = formatDecimal(LINE, secondsLeft, 1);
  // Right-aligned in a field as wide as the period, so the bar never moves.
  const numberX = <i32>(decimalDigits(period) - shownDigits) * SMALL_ADVANCE;
  drawText(numberX, OTP_COUNTDOWN_Y, LINE, shownDigits, 1);

  const barX = otpBarX(period);
  const barWidth = FB_WIDTH - barX;
  drawRect(barX, OTP_COUNTDOWN_Y, barWidth, OTP_COUNTDOWN_HEIGHT);
  // Rounded up, so the last second ("0") still shows a sliver.
  const fill = (<u32>(barWidth - 4) * (secondsLeft + 1) + period - 1) / period;
  fillRect(barX + 2, OTP_COUNTDOWN_Y + 2, <i32>fill, OTP_COUNTDOWN_HEIGHT - 4, 1);
}

/** "E" and the error code (at least two digits) at scale 2, centred with its top at y. */
function drawErrorCode(y: i32, errorCode: u32): void {
  store<u8>(LINE, 0x45);
  centredBytes(y, LINE, 1 + formatDecimal(LINE + 1, errorCode, 2), 2);
}

/**
 * A full-screen message of `kind` (SCREEN_*), drawn when the state machine enters that state;
 * `errorCode` is shown on the self-test and storage screens. SCREEN_OFF and unknown kinds leave
 * the frame blank. Text heights: 7 rows at scale 1, 14 at scale 2.
 */
export function drawStatusScreen(kind: u32, errorCode: u32): void {
  clear();
  switch (kind) {
    case SCREEN_NOT_SET_UP: { centredText(9, TEXT_NOT_SET_UP, 2); break; }
    case SCREEN_ACTIVATING: {
      centredText(3, TEXT_ACTIVATING, 2);
      centredText(22, TEXT_PRESS_TO_CANCEL, 1);
      break;
    }
    case SCREEN_LOCKED: { centredText(9, TEXT_LOCKED, 2); break; }
    case SCREEN_SCAN: {
      centredText(3, TEXT_SCAN, 2);
      centredText(22, TEXT_PRESS_TO_CANCEL, 1);
      break;
    }
    case SCREEN_CLOCK_LOST: {
      centredText(3, TEXT_CLOCK_LOST, 2);
      centredText(21, TEXT_SET_TIME, 1);
      break;
    }
    case SCREEN_LOW_BATTERY: {
      centredText(1, TEXT_LOW, 2);
      centredText(17, TEXT_BATTERY, 2);
      break;
    }
    case SCREEN_SELF_TEST_FAILED: {
      centredText(3, TEXT_SELF_TEST_FAIL, 1);
      drawErrorCode(15, errorCode);
      break;
    }
    case SCREEN_STORAGE_ERROR: {
      centredText(3, TEXT_STORAGE_ERR, 1);
      drawErrorCode(15, errorCode);
      break;
    }
    case SCREEN_ERASE_CONFIRM: {
      centredText(1, TEXT_HOLD_A, 2);
      centredText(17, TEXT_TO_ERASE, 2);
      break;
    }
    case SCREEN_ADD_CONFIRM: {
      centredText(1, TEXT_HOLD_A, 2);
      centredText(17, TEXT_TO_ADD, 2);
      break;
    }
    case SCREEN_REPLACE_CONFIRM: {
      centredText(1, TEXT_HOLD_A, 2);
      centredText(17, TEXT_TO_REPLACE, 2);
      break;
    }
    default: break;
  }
}

/** Appends a length-prefixed text to LINE, which holds `length` bytes; returns the new length. */
function append(length: u32, text: usize): u32 {
  return length + copyText(LINE + length, text + 1, load<u8>(text));
}

/**
 * The information screen, shown on request: the serial number as 16 hex digits, the firmware
 * version and the battery voltage, e.g. "SN 0123456789ABCDEF" / "FW 1.0  BAT 2950MV".
 */
export function drawInfoScreen(serialHigh: u32, serialLow: u32, versionMajor: u32, versionMinor: u32,
  batteryMillivolts: u32): void {
  clear();
  let length = append(0, TEXT_SN);
  length += formatHex(LINE + length, serialHigh, 8);
  length += formatHex(LINE + length, serialLow, 8);
  centredBytes(6, LINE, length, 1);

  length = append(0, TEXT_FW);
  length += formatDecimal(LINE + length, versionMajor, 1);
  store<u8>(LINE + length, 0x2e);
  length += 1 + formatDecimal(LINE + length + 1, versionMinor, 1);
  length = append(length, TEXT_BAT);
  length += formatDecimal(LINE + length, batteryMillivolts, 1);
  length = append(length, TEXT_MV);
  centredBytes(FB_HEIGHT - 6 - 7, LINE, length, 1);
}

/**
 * Draws " " and `suffixLength` ASCII digits at `suffix` after a label of `labelLength` characters on
 * the OTP screen's top row (the Service ID's last digits, when two profiles share a label); nothing
 * when `suffixLength` is 0. Called by the device right after drawOtpScreen.
 */
export function drawLabelSuffix(labelLength: u32, suffix: usize, suffixLength: u32): void {
  if (suffixLength == 0) return;
  drawText(<i32>(min(labelLength, OTP_LABEL_MAX_CHARS) + 1) * SMALL_ADVANCE, 0, suffix, suffixLength, 1);
}

/**
 * The confirmation of deleting one profile: "HOLD A TO DELETE", the profile's label (and the Service
 * ID's last digits when given, as on its code screen) and "PRESS TO KEEP".
 */
export function drawDeleteScreen(label: usize, labelLength: u32, suffix: usize, suffixLength: u32): void {
  clear();
  centredText(2, TEXT_HOLD_A_TO_DELETE, 1);
  let length = copyText(LINE, label, min(labelLength, OTP_LABEL_MAX_CHARS));
  if (suffixLength != 0) {
    store<u8>(LINE + length, 0x20);
    length += 1 + copyText(LINE + length + 1, suffix, suffixLength);
  }
  centredBytes(13, LINE, length, 1);
  centredText(24, TEXT_PRESS_TO_KEEP, 1);
}

const TEXT_PAY_TO: usize = memory.data<u8>([6, 0x50, 0x41, 0x59, 0x20, 0x54, 0x4f]); // "PAY TO"
const TEXT_PAYEE_NAME: usize = memory.data<u8>([10, 0x50, 0x41, 0x59, 0x45, 0x45, 0x20, 0x4e, 0x41, 0x4d, 0x45]); // "PAYEE NAME"
const TEXT_AMOUNT_JPY: usize = memory.data<u8>([10, 0x41, 0x4d, 0x4f, 0x55, 0x4e, 0x54, 0x20, 0x4a, 0x50, 0x59]); // "AMOUNT JPY"
const TEXT_HOLD_SIGN: usize = memory.data<u8>([18, 0x48, 0x4f, 0x4c, 0x44, 0x3d, 0x53, 0x49, 0x47, 0x4e, 0x20, 0x50, 0x52, 0x45, 0x53, 0x53,
  0x3d, 0x4e, 0x4f]); // "HOLD=SIGN PRESS=NO"
const TEXT_TRANSFER_CODE: usize = memory.data<u8>([13, 0x54, 0x52, 0x41, 0x4e, 0x53, 0x46, 0x45, 0x52, 0x20, 0x43, 0x4f, 0x44, 0x45]); // "TRANSFER CODE"

// Offsets in the canonical transfer (assembly/otp/transaction.ts; importing it would bring the
// crypto's static tables into the display build).
const TX_NAME_LENGTH: usize = 29;
const TX_NAME: usize = 30;

/** Account name characters a line of the name screen holds (21 x 6 pixels of the panel's 128). */
export const TRANSFER_NAME_LINE_CHARS: u32 = 21;
/** drawTransferScreen's screens: the payee's account, its account name, the amount. */
export const TRANSFER_PAYEE: u32 = 0;
export const TRANSFER_NAME: u32 = 1;
export const TRANSFER_AMOUNT: u32 = 2;

/** Draws `length` (at most TRANSFER_NAME_LINE_CHARS) bytes of an account name centred, top at y. */
function centredName(y: i32, name: usize, length: u32): void {
  drawNameText((FB_WIDTH - textWidth(length, 1)) >> 1, y, name, length);
}

/**
 * One screen of a transfer the token read (the canonical bytes at `tx`, assembly/otp/transaction.ts):
 * TRANSFER_PAYEE ("PAY TO", bank-branch account), TRANSFER_NAME ("PAYEE NAME", the account name in
 * half-width katakana, on two lines when it is longer than one holds), TRANSFER_AMOUNT ("AMOUNT JPY",
 * the yen), each over "HOLD=SIGN PRESS=NO". Drawn from the same bytes the code is computed over.
 */
export function drawTransferScreen(tx: usize, screen: u32, amountHigh: u32, amountLow: u32): void {
  clear();
  if (screen == TRANSFER_PAYEE) {
    centredText(0, TEXT_PAY_TO, 1);
    let length = copyText(LINE, tx + 1, 4);
    store<u8>(LINE + length++, 0x2d);
    length += copyText(LINE + length, tx + 5, 3);
    store<u8>(LINE + length++, 0x20);
    length += copyText(LINE + length, tx + 8, 7);
    centredBytes(10, LINE, length, 1);
  } else if (screen == TRANSFER_NAME) {
    centredText(0, TEXT_PAYEE_NAME, 1);
    const length = <u32>load<u8>(tx + TX_NAME_LENGTH);
    if (length <= TRANSFER_NAME_LINE_CHARS) centredName(10, tx + TX_NAME, length);
    else {
      centredName(8, tx + TX_NAME, TRANSFER_NAME_LINE_CHARS);
      centredName(16, tx + TX_NAME + TRANSFER_NAME_LINE_CHARS, length - TRANSFER_NAME_LINE_CHARS);
    }
  } else {
    centredText(0, TEXT_AMOUNT_JPY, 1);
    // Up to 12 digits: the high part (above 10^6) then the low six, zero-padded.
    let length: u32 = 0;
    if (amountHigh != 0) length = formatDecimal(LINE, amountHigh, 1);
    length += formatDecimal(LINE + length, amountLow, amountHigh != 0 ? 6 : 1);
    centredBytes(10, LINE, length, 1);
  }
  centredText(24, TEXT_HOLD_SIGN, 1);
}

/** The transfer's code after the confirming hold: "TRANSFER CODE" over its 8 big digits. */
export function drawTransferCode(code: u32): void {
  clear();
  centredText(0, TEXT_TRANSFER_CODE, 1);
  drawBigDigits(otpDigitX(8, 0), OTP_DIGITS_Y + 2, code, 8);
}
