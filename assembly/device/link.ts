// The factory link: command frames from the host in LINK_BUFFER, the response written back in place
// (status byte, then fields; little-endian). No command, in any state, returns a seed or anything
// derived from one: codes are only ever on the screen. The buffer is zeroed before each response,
// so a seed sent with ADD_PROFILE does not linger in it.
import {
  ABI_VERSION, ACTIVATION_CONFIRMATION_BYTES, ACTIVATION_REQUEST_BYTES, ACTIVATION_RESPONSE_BYTES, ALG_SHA1, ALG_SHA512,
  BROWN_OUT_MILLIVOLTS, FIRMWARE_MAJOR, FIRMWARE_MINOR, LINK_ADD_PROFILE, LINK_DELETE_PROFILE, LINK_ERASE, LINK_INFO, LINK_ACTIVATE_BEGIN,
  LINK_ACTIVATE_CANCEL, LINK_ACTIVATE_FINISH, LINK_LIST_PROFILES, LINK_SET_TIME, MAX_LABEL, MAX_PROFILES, MAX_SEED, MIN_SEED,
  SERVICE_ID_BYTES, STATUS_BAD_DIGITS, STATUS_BAD_FRAME, STATUS_BAD_SLOT,
  STATUS_BAD_LABEL, STATUS_BAD_PERIOD, STATUS_BAD_SEED, STATUS_BAD_ALGORITHM, STATUS_DENIED, STATUS_FULL, STATUS_OK,
  STATUS_LOW_BATTERY, STATUS_NOT_ACTIVATING, STATUS_PENDING, STATUS_SELF_TEST, STATUS_UNKNOWN_COMMAND,
} from "../abi";
import { batteryMillivolts, rtcNow, rtcSet } from "../hal";
import { validDigits, validPeriod } from "../otp/otp";
import {
  P_ALGORITHM, P_DIGITS, P_LABEL, P_LABEL_LENGTH, P_PERIOD, P_SEED, P_SEED_LENGTH, P_SERVICE_ID, PROFILE_SIZE, profileAddress,
  profileCount, R_LATEST_TIME, R_PROFILE_COUNT, R_SEQUENCE, R_SERIAL, RECORD,
} from "../store/record";
import { storeCommit } from "../store/store";
import {
  activationBegin, activationConfirmation, activationFinish, activationLocked, activationPending, activationReplaces, activationRequest,
} from "./activation";
import {
  activationCancelled, activationDone, activationStarted, cancelAdd, cancelDelete, clockValid, profilesChanged, reportStorage, requestAdd,
  requestDelete, requestErase, requestReplace, selfTestPassed, storageOk,
} from "./device";
import { labelCharacter } from "./label";

export const LINK_SIZE: u32 = 256;
export const LINK_BUFFER: usize = memory.data(<i32>LINK_SIZE);

let responseLength: u32 = 0;

function respond(status: i32): i32 {
  memory.fill(LINK_BUFFER, 0, LINK_SIZE);
  store<i8>(LINK_BUFFER, <i8>status);
  responseLength = 1;
  return status;
}

function put8(value: u32): void {
  store<u8>(LINK_BUFFER + responseLength, <u8>value);
  responseLength += 1;
}

function put16(value: u32): void {
  store<u16>(LINK_BUFFER + responseLength, <u16>value);
  responseLength += 2;
}

function put32(value: u32): void {
  store<u32>(LINK_BUFFER + responseLength, value);
  responseLength += 4;
}

function put64(value: u64): void {
  store<u64>(LINK_BUFFER + responseLength, value);
  responseLength += 8;
}

/** Handles the frame of `len` bytes in LINK_BUFFER. Returns the response length. */
export function linkCommand(len: u32): u32 {
  if (len < 1 || len > LINK_SIZE) {
    respond(STATUS_BAD_FRAME);
    return responseLength;
  }
  const command = <u32>load<u8>(LINK_BUFFER);
  // A profile waiting for the holder's hold lives in the record's next slot: any command that may
  // change or store the record forgets it first.
  // A delete waiting for its hold is forgotten the same way (the holder sees what the host asks now).
  if (command != LINK_INFO && command != LINK_LIST_PROFILES) {
    cancelAdd();
    cancelDelete();
  }
  if (command == LINK_INFO) info(len);
  else if (!selfTestPassed()) respond(STATUS_SELF_TEST);
  else if (command == LINK_SET_TIME) setTime(len);
  else if (command == LINK_ADD_PROFILE) addProfile(len);
  else if (command == LINK_LIST_PROFILES) listProfiles(len);
  else if (command == LINK_ERASE) erase(len);
  else if (command == LINK_ACTIVATE_BEGIN) activateBegin(len);
  else if (command == LINK_ACTIVATE_FINISH) activateFinish(len);
  else if (command == LINK_ACTIVATE_CANCEL) activateCancel(len);
  else if (command == LINK_DELETE_PROFILE) deleteProfile(len);
  else respond(STATUS_UNKNOWN_COMMAND);
  return responseLength;
}

// INFO -> status, firmware major, minor, ABI version, profile count, flags (bit 0 self-test passed,
// bit 1 clock valid, bit 2 storage ok, bit 3 activation locked until erased), battery mV (u16), serial (u64), RTC now (i64),
// latest recorded time (i64), record sequence (u32).
function info(len: u32): void {
  if (len != 1) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  const now = rtcNow();
  respond(STATUS_OK);
  put8(FIRMWARE_MAJOR);
  put8(FIRMWARE_MINOR);
  put8(ABI_VERSION);
  put8(profileCount());
  put8((selfTestPassed() ? 1 : 0) | (clockValid(now) ? 2 : 0) | (storageOk() ? 4 : 0) | (activationLocked() ? 8 : 0));
  put16(batteryMillivolts());
  put64(load<u64>(RECORD + R_SERIAL));
  put64(<u64>now);
  put64(load<u64>(RECORD + R_LATEST_TIME));
  put32(load<u32>(RECORD + R_SEQUENCE));
}

// SET_TIME i64 -> status. Only a token that is not set up, or whose clock was lost, accepts it: a
// host must not be able to move a working token's clock forward and harvest future codes.
function setTime(len: u32): void {
  if (len != 9) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  const time = load<i64>(LINK_BUFFER + 1);
  if (time < 0) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  if (profileCount() != 0 && clockValid(rtcNow())) {
    respond(STATUS_DENIED);
    return;
  }
  store<i64>(RECORD + R_LATEST_TIME, time);
  const status = reportStorage(storeCommit());
  if (status == STATUS_OK) rtcSet(time);
  respond(status);
}

// ADD_PROFILE algorithm u8, digits u8, period u32, label length u8, label, seed length u8, seed
// -> status, index. Every field is checked before anything changes. A factory-fresh token (no
// profile) stores it at once; a token that holds one answers STATUS_PENDING and stores it only when
// the holder holds button A within ERASE_WINDOW_SECONDS (the host reads LIST_PROFILES to learn the
// outcome), so a host alone cannot fill the slots the bank's activation needs.
function addProfile(len: u32): void {
  const frame = LINK_BUFFER;
  if (len < 8) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  const algorithm = <u32>load<u8>(frame + 1);
  const digits = <u32>load<u8>(frame + 2);
  const period = load<u32>(frame + 3);
  const labelLength = <u32>load<u8>(frame + 7);
  if (<u32>9 + labelLength > len) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  const label = frame + 8;
  const seedLength = <u32>load<u8>(label + labelLength);
  const seed = label + labelLength + 1;
  let status = STATUS_OK;
  if (<u32>9 + labelLength + seedLength != len) status = STATUS_BAD_FRAME;
  else if (algorithm < ALG_SHA1 || algorithm > ALG_SHA512) status = STATUS_BAD_ALGORITHM;
  else if (!validDigits(digits)) status = STATUS_BAD_DIGITS;
  else if (!validPeriod(period)) status = STATUS_BAD_PERIOD;
  else if (labelLength == 0 || labelLength > MAX_LABEL) status = STATUS_BAD_LABEL;
  else if (seedLength < MIN_SEED || seedLength > MAX_SEED) status = STATUS_BAD_SEED;
  else if (profileCount() >= MAX_PROFILES) status = STATUS_FULL;
  // An activation writes its profile into the same next slot.
  else if (profileCount() != 0 && activationPending()) status = STATUS_DENIED;
  // Said now rather than after the holder's hold, when the write would be refused anyway.
  else if (batteryMillivolts() < BROWN_OUT_MILLIVOLTS) status = STATUS_LOW_BATTERY;
  for (let i: u32 = 0; status == STATUS_OK && i < labelLength; i++) {
    if (!labelCharacter(<u32>load<u8>(label + i))) status = STATUS_BAD_LABEL;
  }
  if (status != STATUS_OK) {
    respond(status);
    return;
  }
  const index = profileCount();
  const profile = profileAddress(index);
  memory.fill(profile, 0, PROFILE_SIZE);
  store<u8>(profile + P_ALGORITHM, <u8>algorithm);
  store<u8>(profile + P_DIGITS, <u8>digits);
  store<u8>(profile + P_SEED_LENGTH, <u8>seedLength);
  store<u8>(profile + P_LABEL_LENGTH, <u8>labelLength);
  store<u32>(profile + P_PERIOD, period);
  memory.copy(profile + P_LABEL, label, labelLength);
  memory.copy(profile + P_SEED, seed, seedLength);
  if (index != 0) {
    requestAdd();
    respond(STATUS_PENDING);
    return;
  }
  store<u8>(RECORD + R_PROFILE_COUNT, <u8>(index + 1));
  status = reportStorage(storeCommit());
  // On failure the store put the record back; either way nothing on screen may be stale.
  profilesChanged();
  respond(status);
  if (status == STATUS_OK) put8(index);
}

// LIST_PROFILES -> status, count, then per profile: algorithm, digits, period u32, label length,
// label (MAX_LABEL bytes, zero padded), Service ID (SERVICE_ID_BYTES; zero when programmed over the
// link). Never the seed.
function listProfiles(len: u32): void {
  if (len != 1) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  respond(STATUS_OK);
  const count = profileCount();
  put8(count);
  for (let i: u32 = 0; i < count; i++) {
    const profile = profileAddress(i);
    put8(load<u8>(profile + P_ALGORITHM));
    put8(load<u8>(profile + P_DIGITS));
    put32(load<u32>(profile + P_PERIOD));
    put8(load<u8>(profile + P_LABEL_LENGTH));
    memory.copy(LINK_BUFFER + responseLength, profile + P_LABEL, MAX_LABEL);
    responseLength += MAX_LABEL;
    memory.copy(LINK_BUFFER + responseLength, profile + P_SERVICE_ID, SERVICE_ID_BYTES);
    responseLength += SERVICE_ID_BYTES;
  }
}

// ERASE -> STATUS_PENDING: the token asks its holder to hold button A within ERASE_WINDOW_SECONDS;
// only then are the profiles erased. A host alone cannot destroy the seeds.
function erase(len: u32): void {
  if (len != 1) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  requestErase();
  respond(STATUS_PENDING);
}

// DELETE_PROFILE index u8 -> STATUS_PENDING: the token shows that profile and asks its holder to hold
// button A within ERASE_WINDOW_SECONDS; only then is it deleted (LIST_PROFILES tells). STATUS_BAD_SLOT
// when the token holds no profile of that index.
function deleteProfile(len: u32): void {
  if (len != 2) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  const index = <u32>load<u8>(LINK_BUFFER + 1);
  if (index >= profileCount()) {
    respond(STATUS_BAD_SLOT);
    return;
  }
  requestDelete(index);
  respond(STATUS_PENDING);
}

// ACTIVATE_BEGIN Service ID (8), User ID (16), password length u8, password -> status, request
// (docs/activation.md message 1). The password is gone from the buffer when the response is written
// (respond() zeroes it); the token keeps only what CPace computed from it.
function activateBegin(len: u32): void {
  if (len < 26 || len != 26 + <u32>load<u8>(LINK_BUFFER + 25)) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  const status = activationBegin(LINK_BUFFER + 1, LINK_BUFFER + 9, LINK_BUFFER + 26, <u32>load<u8>(LINK_BUFFER + 25));
  respond(status);
  if (status != STATUS_OK) return;
  activationRequest(LINK_BUFFER + 1);
  responseLength += ACTIVATION_REQUEST_BYTES;
  activationStarted();
}

// ACTIVATE_FINISH response (docs/activation.md message 2) -> status, new profile index, the token's
// confirmation for the bank (message 3). "Register" in the procedure: the bank's confirmation is
// checked, the profile stored, and the token's own confirmation goes back to the bank. When the token
// already holds a profile for the Service ID (one per bank service): STATUS_PENDING, that profile's
// index and message 3; the new profile replaces it when the holder holds button A within
// ERASE_WINDOW_SECONDS (LIST_PROFILES tells), else the token keeps the old one.
function activateFinish(len: u32): void {
  if (len != 1 + ACTIVATION_RESPONSE_BYTES) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  const result = activationFinish(LINK_BUFFER + 1);
  if (result < 0) {
    respond(reportStorage(result));
    return;
  }
  const replaced = activationReplaces();
  respond(replaced < 0 ? STATUS_OK : STATUS_PENDING);
  put8(<u32>(replaced < 0 ? result : replaced));
  activationConfirmation(LINK_BUFFER + responseLength);
  responseLength += ACTIVATION_CONFIRMATION_BYTES;
  if (replaced < 0) activationDone(<u32>result);
  else requestReplace(<u32>replaced);
}

// ACTIVATE_CANCEL -> status: abandons the activation under way (the bank refused the request, the token
// refused the bank's answer at "register", or the holder gave up); its secrets (the CPace scalar ya,
// K, ISK, the MAC key, message 1) are zeroed and the token leaves the activating screen.
// STATUS_NOT_ACTIVATING when none was under way (already abandoned, finished, or cancelled by a press).
function activateCancel(len: u32): void {
  if (len != 1) {
    respond(STATUS_BAD_FRAME);
    return;
  }
  if (!activationPending()) {
    respond(STATUS_NOT_ACTIVATING);
    return;
  }
  activationCancelled();
  respond(STATUS_OK);
}
