// The token's behaviour: what the screen shows and when, button handling, the erase confirmation.
// Time is an input (the RTC through the HAL); the host calls tick() when the wake-up time this
// module asked for arrives, and button() on each button event.
//
// The code is computed once per step and profile (two compressions from the prepared key), not per
// refresh: refreshes only redraw the countdown.
import {
  ACTIVATION_WINDOW_SECONDS, BROWN_OUT_MILLIVOLTS, BUTTON_HOLD, BUTTON_PRESS, ERASE_WINDOW_SECONDS, FIRMWARE_MAJOR, FIRMWARE_MINOR,
  LOW_BATTERY_MILLIVOLTS, MAX_LABEL, MAX_PROFILES, MODE_ACTIVATING, MODE_ADD_CONFIRM, MODE_CLOCK_LOST, MODE_DELETE_CONFIRM, MODE_ERASE_CONFIRM,
  MODE_INFO, MODE_LOCKED, MODE_LOW_BATTERY, MODE_NOT_SET_UP, MODE_OFF, MODE_OTP, MODE_REPLACE_CONFIRM, MODE_SELF_TEST_FAILED, MODE_STORAGE_ERROR,
  MODE_SCAN, MODE_TRANSFER, MODE_TRANSFER_CODE, SCAN_WINDOW_SECONDS, STATUS_BAD_TRANSACTION, STATUS_DENIED, TRANSFER_SCREEN_SECONDS, TRANSFER_WINDOW_SECONDS, TX_FIXED_BYTES,
  TX_MAX_NAME,
  NEW_CODE_SHOWN_SECONDS, PANEL_ON_SECONDS, SERVICE_ID_BYTES, SERVICE_SUFFIX_DIGITS, STATUS_OK, STATUS_SELF_TEST, STATUS_STORAGE,
} from "../abi";
import { hmacForget, hmacPrepare, KEY_SIZE } from "../crypto/hmac";
import { drawDeleteScreen, drawInfoScreen, drawLabelSuffix, drawOtpScreen, drawStatusScreen, drawTransferCode, drawTransferScreen,
  TRANSFER_AMOUNT } from "../display/screens";
import { TX_NAME_LENGTH, transactionAmount, transactionCode, transactionValid } from "../otp/transaction";
import { batteryMillivolts, lightPower, random, rtcNow } from "../hal";
import { opticalReset } from "../optical/decoder";
import { hotpValue, stepSecondsIn, stepSecondsLeft, totpStep } from "../otp/otp";
import {
  P_ALGORITHM, P_DIGITS, P_LABEL, P_LABEL_LENGTH, P_PERIOD, P_SEED, P_SEED_LENGTH, P_SERVICE_ID, PROFILE_SIZE, profileAddress,
  profileCount, R_ACTIVE_PROFILE, R_FAILED_ACTIVATIONS, R_LATEST_TIME, R_PROFILE_COUNT, R_PROFILES, R_SERIAL, RECORD,
} from "../store/record";
import { storeCommit, storeLoad } from "../store/store";
import { abandonActivation, activationLocked, activationPending } from "./activation";
import { selfTest } from "./selftest";

/** How often the latest time is written while the token is used (wear versus clock-rollback detection). */
export const RECORD_TIME_INTERVAL: i64 = 3600;

// The display model the framebuffer was drawn from (exported to the host as DISPLAY_MODEL):
//   0 mode, 4 code, 8 digits, 12 seconds left, 16 period, 20 battery level (0-4), 24 profile,
//   28 error code, 32 label length (u32 each), 36 label (MAX_LABEL bytes), 48 the last
//   SERVICE_SUFFIX_DIGITS digits of the profile's Service ID when another profile shares its label
//   (the screen shows them after the label), else zero
export const DISPLAY_MODEL_SIZE: u32 = 52;
export const DISPLAY_MODEL: usize = memory.data(<i32>DISPLAY_MODEL_SIZE);
const M_MODE: usize = 0;
const M_CODE: usize = 4;
const M_DIGITS: usize = 8;
const M_SECONDS_LEFT: usize = 12;
const M_PERIOD: usize = 16;
const M_BATTERY: usize = 20;
const M_PROFILE: usize = 24;
const M_ERROR: usize = 28;
const M_LABEL_LENGTH: usize = 32;
const M_LABEL: usize = 36;
const M_SERVICE_SUFFIX: usize = 48;

const NONE: u32 = 0xffffffff;

/** The prepared HMAC key of the profile on screen. */
const ACTIVE_KEY: usize = memory.data(<i32>KEY_SIZE);
let keyProfile: u32 = NONE;
// The code on screen and the step and profile it belongs to.
let shownProfile: u32 = NONE;
let shownStep: u64 = 0;
let shownCode: u32 = 0;

let selfTestError: u32 = 0;
let storageError: u32 = 0;
let panelOffAt: i64 = 0;
let infoShown: bool = false;
let eraseDeadline: i64 = 0;
/** While non-zero: the profile in the slot after the last one waits for the holder's hold until then. */
let addDeadline: i64 = 0;
/** The profile the waiting one replaces (a registration for a Service ID already held), or NONE: added. */
let replaceIndex: u32 = NONE;
/** While non-zero: the holder may confirm deleting profile deleteIndex with a hold until then. */
let deleteDeadline: i64 = 0;
let deleteIndex: u32 = 0;
let wakeAt: i64 = 0;
/** While non-zero: scan mode (the sensors powered, the board sampling them) until then. */
let scanDeadline: i64 = 0;

/** The transfer the token read, exactly as it arrived: what the screens show and the hold signs. */
const TRANSFER: usize = memory.data(<i32>(TX_FIXED_BYTES + TX_MAX_NAME));
/** Its length (0: none), when it arrived, until when it may be confirmed, and its code after the hold (-1: none). */
let transferLength: u32 = 0;
let transferArrived: i64 = 0;
let transferDeadline: i64 = 0;
let transferCodeValue: i32 = -1;

/** The next time the device wants tick() (RTC seconds), or 0 to sleep until a button event. */
export function nextWake(): i64 {
  return wakeAt;
}

export function selfTestPassed(): bool {
  return selfTestError == 0;
}

export function storageOk(): bool {
  return storageError == 0;
}

/** The RTC is running and not behind the latest time the token recorded. */
export function clockValid(now: i64): bool {
  return now >= 0 && now >= load<i64>(RECORD + R_LATEST_TIME);
}

/** Boot: self-test, load the record (making a serial number on the very first boot). */
export function deviceBoot(): i32 {
  selfTestError = selfTest(ACTIVE_KEY);
  keyProfile = NONE;
  shownProfile = NONE;
  if (!storeLoad()) {
    random(RECORD + R_SERIAL, 8);
    // Written now so the serial number never changes; if the battery is too low it is written with
    // the first change instead.
    storeCommit();
  }
  store<u8>(RECORD + R_ACTIVE_PROFILE, 0);
  blank();
  if (selfTestError != 0) {
    wakePanel(rtcNow());
    return STATUS_SELF_TEST;
  }
  return STATUS_OK;
}

/** Records a storage failure: the error screen shows until the next boot. */
export function reportStorage(status: i32): i32 {
  if (status == STATUS_STORAGE) storageError = 1;
  return status;
}

/** Forgets the prepared key and the code on screen (after the profiles changed). */
export function profilesChanged(): void {
  hmacForget(ACTIVE_KEY);
  keyProfile = NONE;
  shownProfile = NONE;
  store<u8>(RECORD + R_ACTIVE_PROFILE, 0);
}

function blank(): void {
  memory.fill(DISPLAY_MODEL, 0, DISPLAY_MODEL_SIZE);
  store<u32>(DISPLAY_MODEL + M_MODE, MODE_OFF);
  drawStatusScreen(MODE_OFF, 0);
}

function batteryLevel(millivolts: u32): u32 {
  if (millivolts >= 2900) return 4;
  if (millivolts >= 2750) return 3;
  if (millivolts >= 2600) return 2;
  if (millivolts >= LOW_BATTERY_MILLIVOLTS) return 1;
  return 0;
}

function showStatus(mode: u32, errorCode: u32): void {
  memory.fill(DISPLAY_MODEL, 0, DISPLAY_MODEL_SIZE);
  store<u32>(DISPLAY_MODEL + M_MODE, mode);
  store<u32>(DISPLAY_MODEL + M_ERROR, errorCode);
  store<u32>(DISPLAY_MODEL + M_BATTERY, batteryLevel(batteryMillivolts()));
  drawStatusScreen(mode, errorCode);
}

/** Prepares the key of `index` and computes its code for `step`, once per (profile, step). */
function codeFor(index: u32, step: u64, digits: u32): u32 {
  if (keyProfile != index) {
    const profile = profileAddress(index);
    hmacPrepare(ACTIVE_KEY, <u32>load<u8>(profile + P_ALGORITHM), profile + P_SEED, <usize>load<u8>(profile + P_SEED_LENGTH));
    keyProfile = index;
  }
  if (shownProfile != index || shownStep != step) {
    shownCode = hotpValue(ACTIVE_KEY, step, digits);
    shownProfile = index;
    shownStep = step;
  }
  return shownCode;
}

function showCode(now: i64): void {
  const index = <u32>load<u8>(RECORD + R_ACTIVE_PROFILE);
  const profile = profileAddress(index);
  const digits = <u32>load<u8>(profile + P_DIGITS);
  const period = load<u32>(profile + P_PERIOD);
  const time = <u64>now;
  const code = codeFor(index, totpStep(time, 0, period), digits);
  const secondsLeft = stepSecondsLeft(time, 0, period);
  const level = batteryLevel(batteryMillivolts());
  store<u32>(DISPLAY_MODEL + M_MODE, MODE_OTP);
  store<u32>(DISPLAY_MODEL + M_CODE, code);
  store<u32>(DISPLAY_MODEL + M_DIGITS, digits);
  store<u32>(DISPLAY_MODEL + M_SECONDS_LEFT, secondsLeft);
  store<u32>(DISPLAY_MODEL + M_PERIOD, period);
  store<u32>(DISPLAY_MODEL + M_BATTERY, level);
  store<u32>(DISPLAY_MODEL + M_ERROR, 0);
  const labelLength = modelProfile(index);
  drawOtpScreen(code, digits, secondsLeft, period, level, profile + P_LABEL, labelLength);
  drawLabelSuffix(labelLength, DISPLAY_MODEL + M_SERVICE_SUFFIX, suffixLength());
}

/** The length of the Service ID suffix in the display model (0 or SERVICE_SUFFIX_DIGITS). */
function suffixLength(): u32 {
  return load<u8>(DISPLAY_MODEL + M_SERVICE_SUFFIX) != 0 ? SERVICE_SUFFIX_DIGITS : 0;
}

/**
 * Writes profile `index`, its label and, when another profile shares that label, the last digits of
 * its Service ID into the display model, so two services of one label are told apart on screen.
 * Returns the label's length.
 */
function modelProfile(index: u32): u32 {
  const profile = profileAddress(index);
  const labelLength = <u32>load<u8>(profile + P_LABEL_LENGTH);
  store<u32>(DISPLAY_MODEL + M_PROFILE, index);
  store<u32>(DISPLAY_MODEL + M_LABEL_LENGTH, labelLength);
  memory.fill(DISPLAY_MODEL + M_LABEL, 0, MAX_LABEL + SERVICE_SUFFIX_DIGITS);
  memory.copy(DISPLAY_MODEL + M_LABEL, profile + P_LABEL, labelLength);
  if (load<u8>(profile + P_SERVICE_ID) == 0) return labelLength;
  const count = profileCount();
  for (let i: u32 = 0; i < count; i++) {
    const other = profileAddress(i);
    if (i != index && <u32>load<u8>(other + P_LABEL_LENGTH) == labelLength && memory.compare(other + P_LABEL, profile + P_LABEL, labelLength) == 0) {
      memory.copy(DISPLAY_MODEL + M_SERVICE_SUFFIX, profile + P_SERVICE_ID + SERVICE_ID_BYTES - SERVICE_SUFFIX_DIGITS, SERVICE_SUFFIX_DIGITS);
      break;
    }
  }
  return labelLength;
}

/** The confirmation of deleting profile deleteIndex: its label (and Service ID suffix) and "hold A". */
function showDelete(): void {
  memory.fill(DISPLAY_MODEL, 0, DISPLAY_MODEL_SIZE);
  store<u32>(DISPLAY_MODEL + M_MODE, MODE_DELETE_CONFIRM);
  store<u32>(DISPLAY_MODEL + M_BATTERY, batteryLevel(batteryMillivolts()));
  const labelLength = modelProfile(deleteIndex);
  drawDeleteScreen(DISPLAY_MODEL + M_LABEL, labelLength, DISPLAY_MODEL + M_SERVICE_SUFFIX, suffixLength());
}

function showInfo(): void {
  const millivolts = batteryMillivolts();
  memory.fill(DISPLAY_MODEL, 0, DISPLAY_MODEL_SIZE);
  store<u32>(DISPLAY_MODEL + M_MODE, MODE_INFO);
  store<u32>(DISPLAY_MODEL + M_BATTERY, batteryLevel(millivolts));
  const serial = load<u64>(RECORD + R_SERIAL);
  drawInfoScreen(<u32>(serial >>> 32), <u32>serial, FIRMWARE_MAJOR, FIRMWARE_MINOR, millivolts);
}

/** Draws the screen the device's state calls for at `now`. */
function show(now: i64): void {
  if (selfTestError != 0) return showStatus(MODE_SELF_TEST_FAILED, selfTestError);
  if (storageError != 0) return showStatus(MODE_STORAGE_ERROR, storageError);
  if (eraseDeadline != 0) {
    if (now >= 0 && now < eraseDeadline) return showStatus(MODE_ERASE_CONFIRM, 0);
    eraseDeadline = 0;
  }
  if (addDeadline != 0) {
    if (now >= 0 && now < addDeadline) return showStatus(replaceIndex == NONE ? MODE_ADD_CONFIRM : MODE_REPLACE_CONFIRM, 0);
    cancelAdd();
  }
  if (deleteDeadline != 0) {
    if (now >= 0 && now < deleteDeadline && deleteIndex < profileCount()) return showDelete();
    deleteDeadline = 0;
  }
  if (scanDeadline != 0) {
    if (scanWindow(now)) return showStatus(MODE_SCAN, 0);
    stopScan();
  }
  if (transferLength != 0) {
    if (transferShown(now)) return showTransfer(now);
    forgetTransfer();
  }
  if (activationPending()) return showStatus(MODE_ACTIVATING, 0);
  if (infoShown) return showInfo();
  if (batteryMillivolts() < BROWN_OUT_MILLIVOLTS) return showStatus(MODE_LOW_BATTERY, 0);
  if (profileCount() == 0) return showStatus(activationLocked() ? MODE_LOCKED : MODE_NOT_SET_UP, 0);
  if (!clockValid(now)) return showStatus(MODE_CLOCK_LOST, 0);
  // The code is drawn before the time is recorded, so a board can put it on the panel before the
  // flash erase stalls the CPU (mcu/main.c); the screen the call leaves is the same either way.
  showCode(now);
  recordTime(now);
  if (storageError != 0) showStatus(MODE_STORAGE_ERROR, storageError);
}

/** Writes the latest time at most once per RECORD_TIME_INTERVAL of use. */
function recordTime(now: i64): void {
  if (now < load<i64>(RECORD + R_LATEST_TIME) + RECORD_TIME_INTERVAL) return;
  store<i64>(RECORD + R_LATEST_TIME, now);
  // A refusal for low battery is fine: the time is recorded on a later use.
  reportStorage(storeCommit());
}

/** Turns the panel on (or keeps it on) for PANEL_ON_SECONDS from `now`, and draws. */
function wakePanel(now: i64): void {
  panelOffAt = now + PANEL_ON_SECONDS;
  show(now);
  wakeAt = now + 1;
}

function panelOn(): bool {
  return load<u32>(DISPLAY_MODEL + M_MODE) != MODE_OFF;
}

/** A button event. Returns the next wake-up time. */
export function deviceButton(event: u32): i64 {
  const now = rtcNow();
  if (event == BUTTON_PRESS) {
    // A press in scan mode stops it (the code returns).
    if (scanDeadline != 0) stopScan();
    // A press on a transfer refuses it (or, after the hold, puts its code away).
    else if (transferLength != 0) forgetTransfer();
    // A press on the delete confirmation keeps the profile: the code returns.
    else if (deleteWindow(now)) deleteDeadline = 0;
    // The activation screen says a press cancels it (the holder gave up, or the bank refused).
    else if (activationPending()) abandonActivation();
    else if (panelOn() && load<u32>(DISPLAY_MODEL + M_MODE) == MODE_OTP && !infoShown) {
      // A press while a code is shown moves to the next profile.
      const count = profileCount();
      store<u8>(RECORD + R_ACTIVE_PROFILE, <u8>((<u32>load<u8>(RECORD + R_ACTIVE_PROFILE) + 1) % count));
    }
    infoShown = false;
    wakePanel(now);
  } else if (event == BUTTON_HOLD) {
    // A hold while scanning changes nothing (the holder steadies the token on the page).
    if (scanWindow(now)) return wakeAt;
    if (transferShown(now)) {
      if (transferCodeValue < 0) signTransfer();
    } else if (eraseDeadline != 0 && now >= 0 && now < eraseDeadline) {
      eraseDeadline = 0;
      confirmErase();
    } else if (addDeadline != 0 && now >= 0 && now < addDeadline) {
      confirmAdd();
    } else if (deleteWindow(now)) {
      deleteDeadline = 0;
      confirmDelete(deleteIndex);
    } else if (panelOn() && load<u32>(DISPLAY_MODEL + M_MODE) == MODE_OTP && !infoShown) {
      // A hold on a code asks to delete that profile; a second hold confirms (a press keeps it).
      requestDelete(load<u32>(DISPLAY_MODEL + M_PROFILE));
      return wakeAt;
    } else if (infoShown && panelOn() && load<u32>(DISPLAY_MODEL + M_MODE) == MODE_INFO) {
      // A hold on the info screen (itself a hold on a dark panel) starts scan mode: see startScan.
      infoShown = false;
      startScan(now);
      return wakeAt;
    } else {
      infoShown = true;
    }
    wakePanel(now);
  }
  return wakeAt;
}

function scanWindow(now: i64): bool {
  return scanDeadline != 0 && now >= 0 && now < scanDeadline;
}

/** The token is in scan mode: scan() reads the sensors (token.ts). */
export function deviceScanning(): bool {
  return scanDeadline != 0;
}

/**
 * Scan mode, for SCAN_WINDOW_SECONDS: the decoder starts afresh, the board powers the sensors and runs
 * its sampling timer (lightPower), the panel says SCAN and stays on. The gesture is the second hold of
 * "hold, hold" from a dark panel (the first shows the info screen, where a hold did nothing before): no
 * new button event, nothing a code screen's press or hold means, and the token is usually dark when the
 * holder takes it out to scan a page. It ends with a sound frame (deviceTransfer), a press, a link
 * command that needs the panel, or the window's end (the panel goes dark).
 */
function startScan(now: i64): void {
  opticalReset();
  scanDeadline = (now < 0 ? 0 : now) + SCAN_WINDOW_SECONDS;
  panelOffAt = scanDeadline;
  lightPower(1);
  show(now);
  wakeAt = now + 1;
}

/** Leaves scan mode: sampling stops and the sensors go off (nothing if not scanning). */
function stopScan(): void {
  if (scanDeadline == 0) return;
  scanDeadline = 0;
  opticalReset();
  lightPower(0);
}

/** The wake-up time arrived: refresh, or turn the panel off. Returns the next wake-up time. */
export function deviceTick(): i64 {
  const now = rtcNow();
  if (!panelOn()) {
    wakeAt = 0;
    return 0;
  }
  // Every screen turns off with the panel, the error screens too (a failed token must not drain its
  // battery refreshing one); a press shows it again.
  if (now >= panelOffAt && !(eraseDeadline != 0 && now < eraseDeadline) && !(addDeadline != 0 && now < addDeadline)
    && !deleteWindow(now) && !newCodeJustShown(now) && !transferShown(now) && !scanWindow(now)) {
    // An activation the bank never answered is abandoned with the panel: its secrets go.
    abandonActivation();
    stopScan();
    cancelAdd();
    deleteDeadline = 0;
    forgetTransfer();
    infoShown = false;
    blank();
    wakeAt = 0;
    return 0;
  }
  show(now);
  wakeAt = now + 1;
  return wakeAt;
}

/**
 * The code on screen appeared less than NEW_CODE_SHOWN_SECONDS ago (at most the step less one
 * second): the panel stays on, so the holder who pressed just before a step boundary, or exactly on
 * one, sees the change the countdown announced instead of a panel going dark as the code changes.
 */
function newCodeJustShown(now: i64): bool {
  if (now < 0 || infoShown || load<u32>(DISPLAY_MODEL + M_MODE) != MODE_OTP) return false;
  const period = load<u32>(DISPLAY_MODEL + M_PERIOD);
  return stepSecondsIn(<u64>now, 0, period) < min(NEW_CODE_SHOWN_SECONDS, period - 1);
}

/** Starts the erase confirmation window (link command). */
export function requestErase(): void {
  const now = rtcNow();
  stopScan();
  cancelAdd();
  deleteDeadline = 0;
  eraseDeadline = (now < 0 ? 0 : now) + ERASE_WINDOW_SECONDS;
  panelOffAt = eraseDeadline;
  show(now);
  wakeAt = now + 1;
}

/**
 * A host asked to add the profile it wrote into the slot after the last one (link) to a token that
 * already holds one: nothing is stored unless the holder holds button A within ERASE_WINDOW_SECONDS,
 * so a host alone cannot fill the token's slots (and so block its activation).
 */
export function requestAdd(): void {
  requestReplace(NONE);
}

/**
 * The activation that just finished (link) registered a Service ID the token holds: the new profile,
 * in the slot after the last one, replaces profile `index` only when the holder holds button A within
 * ERASE_WINDOW_SECONDS (NONE: it is added, requestAdd).
 */
export function requestReplace(index: u32): void {
  const now = rtcNow();
  stopScan();
  eraseDeadline = 0;
  deleteDeadline = 0;
  infoShown = false;
  replaceIndex = index;
  addDeadline = (now < 0 ? 0 : now) + ERASE_WINDOW_SECONDS;
  panelOffAt = addDeadline;
  show(now);
  wakeAt = now + 1;
}

/** Forgets a profile waiting for the holder's hold: its slot (and seed) is zeroed. */
export function cancelAdd(): void {
  if (addDeadline == 0) return;
  addDeadline = 0;
  replaceIndex = NONE;
  if (profileCount() < MAX_PROFILES) memory.fill(profileAddress(profileCount()), 0, PROFILE_SIZE);
}

/**
 * The holder held button A: the waiting profile becomes the last one (or takes the place of the one
 * it replaces: the old seed goes in the same record write, so after a power cut the token holds the
 * old or the new profile, never none and never both), stored, and its code shows.
 */
function confirmAdd(): void {
  addDeadline = 0;
  const spare = profileCount();
  let index = spare;
  if (replaceIndex == NONE) store<u8>(RECORD + R_PROFILE_COUNT, <u8>(index + 1));
  else {
    index = replaceIndex;
    memory.copy(profileAddress(index), profileAddress(spare), PROFILE_SIZE);
    memory.fill(profileAddress(spare), 0, PROFILE_SIZE);
  }
  replaceIndex = NONE;
  // On failure the store puts the record back (without the profile).
  const status = reportStorage(storeCommit());
  profilesChanged();
  if (status == STATUS_OK) store<u8>(RECORD + R_ACTIVE_PROFILE, <u8>index);
}

/** The activation under way was cancelled (link: the bank refused the request): the usual screen returns. */
export function activationCancelled(): void {
  abandonActivation();
  wakePanel(rtcNow());
}

/** An activation began (link): the panel shows it, and stays on while the bank is asked. */
export function activationStarted(): void {
  const now = rtcNow();
  stopScan();
  infoShown = false;
  show(now);
  panelOffAt = now + ACTIVATION_WINDOW_SECONDS;
  wakeAt = now + 1;
}

/** An activation finished with the new profile `index`: show its first code (step 5). */
export function activationDone(index: u32): void {
  profilesChanged();
  store<u8>(RECORD + R_ACTIVE_PROFILE, <u8>index);
  wakePanel(rtcNow());
}

/** Forgets a delete waiting for the holder's hold (link: another command came). */
export function cancelDelete(): void {
  deleteDeadline = 0;
}

function deleteWindow(now: i64): bool {
  return deleteDeadline != 0 && now >= 0 && now < deleteDeadline;
}

/**
 * Asks the holder to confirm deleting profile `index` (a hold on its code, or the link's
 * DELETE_PROFILE): a hold within ERASE_WINDOW_SECONDS deletes it, a press keeps it.
 */
export function requestDelete(index: u32): void {
  const now = rtcNow();
  stopScan();
  cancelAdd();
  eraseDeadline = 0;
  infoShown = false;
  deleteIndex = index;
  deleteDeadline = (now < 0 ? 0 : now) + ERASE_WINDOW_SECONDS;
  panelOffAt = deleteDeadline;
  show(now);
  wakeAt = now + 1;
}

/**
 * Deletes profile `index` (the holder confirmed): the later ones move down a slot, in one record
 * write. The failed-activation count stays (only a whole erase resets it).
 */
function confirmDelete(index: u32): void {
  const count = profileCount();
  if (index >= count) return;
  abandonActivation();
  memory.copy(profileAddress(index), profileAddress(index + 1), <usize>(count - 1 - index) * PROFILE_SIZE);
  memory.fill(profileAddress(count - 1), 0, PROFILE_SIZE);
  store<u8>(RECORD + R_PROFILE_COUNT, <u8>(count - 1));
  reportStorage(storeCommit());
  profilesChanged();
}

/** Erases every profile (the holder confirmed with a hold). Serial number and latest time stay. */
function confirmErase(): void {
  abandonActivation();
  memory.fill(RECORD + R_PROFILES, 0, <usize>MAX_PROFILES * PROFILE_SIZE);
  store<u8>(RECORD + R_PROFILE_COUNT, 0);
  store<u32>(RECORD + R_FAILED_ACTIVATIONS, 0);
  reportStorage(storeCommit());
  profilesChanged();
}

/**
 * A sound optical frame of `len` bytes at `tx` (from scan()): if it is a canonical transfer and the token
 * can sign (a profile, a valid clock, nothing else waiting), it is kept and shown. Returns `len`,
 * STATUS_BAD_TRANSACTION or STATUS_DENIED. Called once per frame the decoder delivers.
 */
export function deviceTransfer(tx: usize, len: u32): i32 {
  const now = rtcNow();
  // Any sound frame ends scan mode, taken or refused (the panel shows what the token now holds).
  stopScan();
  let status: i32 = <i32>len;
  if (!transactionValid(tx, len)) status = STATUS_BAD_TRANSACTION;
  else if (profileCount() == 0 || !clockValid(now) || activationPending() || eraseDeadline != 0 || addDeadline != 0) status = STATUS_DENIED;
  else {
    forgetTransfer();
    memory.copy(TRANSFER, tx, len);
    transferLength = len;
    transferArrived = now;
    transferDeadline = now + <i64>TRANSFER_WINDOW_SECONDS;
    deleteDeadline = 0;
    infoShown = false;
  }
  wakePanel(now);
  return status;
}

function transferShown(now: i64): bool {
  return transferLength != 0 && now >= 0 && now < transferDeadline;
}

/** Zeroes the transfer and its code. */
function forgetTransfer(): void {
  memory.fill(TRANSFER, 0, TX_FIXED_BYTES + TX_MAX_NAME);
  transferLength = 0;
  transferDeadline = 0;
  transferCodeValue = -1;
}

/** The confirming hold: the code of the bytes on screen under the profile on screen before. */
function signTransfer(): void {
  const profile = profileAddress(<u32>load<u8>(RECORD + R_ACTIVE_PROFILE));
  // The login key's region lends its RAM to the transfer key; the login key is prepared again when next needed.
  transferCodeValue = transactionCode(profile + P_SEED, <u32>load<u8>(profile + P_SEED_LENGTH), TRANSFER, transferLength, ACTIVE_KEY);
  keyProfile = NONE;
}

function showTransfer(now: i64): void {
  memory.fill(DISPLAY_MODEL, 0, DISPLAY_MODEL_SIZE);
  store<u32>(DISPLAY_MODEL + M_BATTERY, batteryLevel(batteryMillivolts()));
  store<u32>(DISPLAY_MODEL + M_SECONDS_LEFT, <u32>(transferDeadline - now));
  if (transferCodeValue >= 0) {
    store<u32>(DISPLAY_MODEL + M_MODE, MODE_TRANSFER_CODE);
    store<u32>(DISPLAY_MODEL + M_CODE, <u32>transferCodeValue);
    store<u32>(DISPLAY_MODEL + M_DIGITS, 8);
    drawTransferCode(<u32>transferCodeValue);
    return;
  }
  // The payee, its account name if the transfer names it, then the amount, in turn (the model's
  // profile field says which of them shows: the index in host/transaction.ts's transferScreens).
  const screens: u32 = load<u8>(TRANSFER + TX_NAME_LENGTH) != 0 ? 3 : 2;
  const screen = <u32>((now - transferArrived) / <i64>TRANSFER_SCREEN_SECONDS) % screens;
  const amount = transactionAmount(TRANSFER);
  store<u32>(DISPLAY_MODEL + M_MODE, MODE_TRANSFER);
  store<u32>(DISPLAY_MODEL + M_PROFILE, screen);
  drawTransferScreen(TRANSFER, screen == screens - 1 ? TRANSFER_AMOUNT : screen, <u32>(amount / 1000000), <u32>(amount % 1000000));
}
