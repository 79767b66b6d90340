// Activation (docs/activation.md, protocol version 2): the token's half of CPace (draft-irtf-cfrg-cpace-21,
// CPACE-X25519-SHA512, initiator-responder, explicit key confirmation as in §10.4). The token is the
// initiator A; the activation password is the PRS; the serial, Service ID and User ID are in CI; the
// seed is HKDF-SHA256 of ISK. The password is used only to compute the generator at the start and is
// not kept; the scalar, K, ISK, the MAC key and every scratch that held them are zeroised on every path:
// success, refusal, abandonment.
import {
  ACTIVATION_CONFIRMATION, ACTIVATION_REQUEST, ACTIVATION_RESPONSE, ACTIVATION_VERSION, ALG_SHA1, ALG_SHA256, ALG_SHA512,
  MAX_ACTIVATION_FAILURES, MAX_LABEL, MAX_PROFILES, SERVICE_ID_BYTES, STATUS_BAD_FRAME, STATUS_BAD_IDENTITY, STATUS_BAD_PASSWORD,
  STATUS_BAD_TAG, STATUS_FULL, STATUS_LOCKED, STATUS_NOT_ACTIVATING, STATUS_OK,
} from "../abi";
import { cpaceGenerator, cpaceIsk, cpaceMacKey, cpaceTag, ISK_BYTES } from "../crypto/cpace";
import { hmacForget, hmacPrepare, KEY_SIZE } from "../crypto/hmac";
import { hkdfSha256 } from "../crypto/kdf";
import { x25519, x25519IsZero } from "../crypto/x25519";
import { random } from "../hal";
import { labelCharacter } from "./label";
import { validDigits, validPeriod } from "../otp/otp";
import {
  P_ALGORITHM, P_DIGITS, P_LABEL, P_LABEL_LENGTH, P_PERIOD, P_SEED, P_SEED_LENGTH, P_SERVICE_ID, PROFILE_SIZE, profileAddress,
  profileCount, profileForService, R_FAILED_ACTIVATIONS, R_PROFILE_COUNT, R_SERIAL, RECORD,
} from "../store/record";
import { storeCommit } from "../store/store";

// Message 1, the request (ACTIVATION_REQUEST_BYTES): ADa = bytes 0..33, then sid and Ya.
const Q_SERVICE_ID: usize = 2;
const Q_USER_ID: usize = 10;
const Q_SERIAL: usize = 26;
const Q_SID: usize = 34;
const Q_SHARE: usize = 50;
const ADA_BYTES: u32 = 34;
const SID_BYTES: u32 = 16;
// Message 2, the response (ACTIVATION_RESPONSE_BYTES): ADb = bytes 0..20, then Yb and Tb.
const R_ALGORITHM: usize = 2;
const R_DIGITS: usize = 3;
const R_PERIOD: usize = 4;
const R_LABEL_LENGTH: usize = 8;
const R_LABEL: usize = 9;
const R_SHARE: usize = 21;
const R_TAG: usize = 53;
const ADB_BYTES: u32 = 21;
// Message 3, the confirmation (ACTIVATION_CONFIRMATION_BYTES): Service ID, User ID and sid, then Ta.
const C_SERVICE_ID: usize = 2;
const C_SID: usize = 26;
const C_TAG: usize = 42;
const TAG_BYTES: u32 = 64;

// CI = lv_cat("otp-token activation", serial (8 bytes, big-endian), Service ID, User ID): the
// initiator's identity first, then the responder's (§10.1.1). Its first 21 bytes are constant.
const CI_PREFIX: usize = memory.data<u8>([
  0x14, 0x6f, 0x74, 0x70, 0x2d, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x20, 0x61, 0x63, 0x74, 0x69, 0x76, 0x61, 0x74, 0x69, 0x6f, 0x6e,
]);
const CI_PREFIX_BYTES: usize = 21;
const CI_BYTES: u32 = 56;

// HKDF info for the seed: "otp-token seed v2".
const SEED_INFO: usize = memory.data<u8>([
  0x6f, 0x74, 0x70, 0x2d, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x20, 0x73, 0x65, 0x65, 0x64, 0x20, 0x76, 0x32,
]);
const SEED_INFO_BYTES: usize = 17;

/** Message 1 as sent, kept for ADa, sid and Ya until the response is checked. */
const REQUEST: usize = memory.data(82);
/** The ephemeral scalar ya. */
const SCALAR: usize = memory.data(32);
/** K, then ISK. */
const SECRET: usize = memory.data(<i32>ISK_BYTES);
/** CI at the start; the MAC key, then the expected Tb, then Ta at the end. */
const WORK: usize = memory.data(<i32>TAG_BYTES);
const MAC_KEY: usize = memory.data(<i32>KEY_SIZE);

let pending = false;
/** Ta is in WORK, waiting for activationConfirmation(). */
let confirmationReady = false;
/**
 * The profile the finished activation replaces (its Service ID was already held), or -1: the new
 * profile then waits in the slot after the last one for the holder's hold (device.ts, confirmAdd).
 */
let replacing: i32 = -1;

/** The index of the profile the activation that just finished will replace on the holder's hold, or -1. */
export function activationReplaces(): i32 {
  return replacing;
}

/** An activation has begun and waits for the bank's response. */
export function activationPending(): bool {
  return pending;
}

/** The token refuses activation until erased (too many failed responses). */
export function activationLocked(): bool {
  return load<u32>(RECORD + R_FAILED_ACTIVATIONS) >= MAX_ACTIVATION_FAILURES;
}

/** Forgets the activation under way and zeroes every secret it held. */
export function abandonActivation(): void {
  memory.fill(REQUEST, 0, 82);
  memory.fill(SCALAR, 0, 32);
  memory.fill(SECRET, 0, ISK_BYTES);
  memory.fill(WORK, 0, TAG_BYTES);
  hmacForget(MAC_KEY);
  pending = false;
  confirmationReady = false;
}

function isDigit(c: u32): bool {
  return c >= 0x30 && c <= 0x39;
}

function isUpper(c: u32): bool {
  return c >= 0x41 && c <= 0x5a;
}

function isLower(c: u32): bool {
  return c >= 0x61 && c <= 0x7a;
}

/**
 * Begins an activation: checks the inputs, computes the generator from the password, samples ya and
 * builds message 1 (activationRequest() copies it out). Replaces any activation under way.
 */
export function activationBegin(serviceId: usize, userId: usize, password: usize, passwordLength: u32): i32 {
  for (let i: usize = 0; i < 8; i++) if (!isDigit(load<u8>(serviceId + i))) return STATUS_BAD_IDENTITY;
  for (let i: usize = 0; i < 16; i++) {
    const c = <u32>load<u8>(userId + i);
    if (!isDigit(c) && !isUpper(c)) return STATUS_BAD_IDENTITY;
  }
  if (passwordLength < 4 || passwordLength > 8) return STATUS_BAD_PASSWORD;
  for (let i: usize = 0; i < <usize>passwordLength; i++) {
    const c = <u32>load<u8>(password + i);
    if (!isDigit(c) && !isUpper(c) && !isLower(c)) return STATUS_BAD_PASSWORD;
  }
  if (activationLocked()) return STATUS_LOCKED;
  if (profileCount() >= MAX_PROFILES) return STATUS_FULL;
  abandonActivation();
  store<u8>(REQUEST, <u8>ACTIVATION_VERSION);
  store<u8>(REQUEST, <u8>ACTIVATION_REQUEST, 1);
  memory.copy(REQUEST + Q_SERVICE_ID, serviceId, 8);
  memory.copy(REQUEST + Q_USER_ID, userId, 16);
  store<u64>(REQUEST + Q_SERIAL, bswap<u64>(load<u64>(RECORD + R_SERIAL)));
  random(REQUEST + Q_SID, SID_BYTES);
  // CI = 0x14 "otp-token activation" 0x08 serial 0x08 Service ID 0x10 User ID.
  memory.copy(WORK, CI_PREFIX, CI_PREFIX_BYTES);
  store<u8>(WORK + CI_PREFIX_BYTES, 8);
  memory.copy(WORK + CI_PREFIX_BYTES + 1, REQUEST + Q_SERIAL, 8);
  store<u8>(WORK + CI_PREFIX_BYTES + 9, 8);
  memory.copy(WORK + CI_PREFIX_BYTES + 10, serviceId, 8);
  store<u8>(WORK + CI_PREFIX_BYTES + 18, 16);
  memory.copy(WORK + CI_PREFIX_BYTES + 19, userId, 16);
  // g = calculate_generator(PRS = password, CI, sid), held in Ya's place; Ya = X25519(ya, g).
  cpaceGenerator(REQUEST + Q_SHARE, password, passwordLength, WORK, CI_BYTES, REQUEST + Q_SID, SID_BYTES);
  memory.fill(WORK, 0, TAG_BYTES);
  random(SCALAR, 32);
  x25519(REQUEST + Q_SHARE, SCALAR, REQUEST + Q_SHARE);
  pending = true;
  return STATUS_OK;
}

/** Writes message 1 (ACTIVATION_REQUEST_BYTES) of the activation under way to `out`. */
export function activationRequest(out: usize): void {
  memory.copy(out, REQUEST, 82);
}

/** Constant-time equality of 64 bytes. */
function equal64(a: usize, b: usize): bool {
  let difference: u64 = 0;
  for (let i: usize = 0; i < 64; i += 8) difference |= load<u64>(a + i) ^ load<u64>(b + i);
  return difference == 0;
}

function seedBytes(algorithm: u32): u32 {
  return algorithm == ALG_SHA1 ? 20 : algorithm == ALG_SHA256 ? 32 : 64;
}

/**
 * Finishes the activation with the bank's message 2 (ACTIVATION_RESPONSE_BYTES at `response`):
 * checks its form, counts the attempt in flash before checking Tb, derives the seed into a new profile
 * and stores it in one record write, and prepares Ta for activationConfirmation(). Returns the new
 * profile's index, or a negative status. When the Service ID is already held (activationReplaces()),
 * the new profile is only in RAM, in the slot after the last one, waiting for the holder's hold.
 */
export function activationFinish(response: usize): i32 {
  if (!pending) return STATUS_NOT_ACTIVATING;
  replacing = -1;
  const algorithm = <u32>load<u8>(response + R_ALGORITHM);
  const digits = <u32>load<u8>(response + R_DIGITS);
  const period = bswap<u32>(load<u32>(response + R_PERIOD));
  const labelLength = <u32>load<u8>(response + R_LABEL_LENGTH);
  let status = STATUS_OK;
  if (load<u8>(response) != ACTIVATION_VERSION || load<u8>(response, 1) != ACTIVATION_RESPONSE) status = STATUS_BAD_FRAME;
  else if (algorithm < ALG_SHA1 || algorithm > ALG_SHA512) status = STATUS_BAD_FRAME;
  else if (!validDigits(digits) || !validPeriod(period)) status = STATUS_BAD_FRAME;
  else if (labelLength == 0 || labelLength > MAX_LABEL) status = STATUS_BAD_FRAME;
  for (let i: u32 = 0; status == STATUS_OK && i < MAX_LABEL; i++) {
    const c = <u32>load<u8>(response + R_LABEL + i);
    if (i < labelLength ? !labelCharacter(c) : c != 0) status = STATUS_BAD_FRAME;
  }
  if (status != STATUS_OK) return status;
  if (activationLocked()) {
    abandonActivation();
    return STATUS_LOCKED;
  }
  // Count the attempt before checking it (a guesser cannot undo the count by cutting power).
  store<u32>(RECORD + R_FAILED_ACTIVATIONS, load<u32>(RECORD + R_FAILED_ACTIVATIONS) + 1);
  status = storeCommit();
  if (status != STATUS_OK) return status;
  // K = scalar_mult_vfy(ya, Yb); K = G.I (a low-order Yb) aborts the run (§7.2).
  x25519(SECRET, SCALAR, response + R_SHARE);
  if (x25519IsZero(SECRET)) {
    abandonActivation();
    return STATUS_BAD_TAG;
  }
  cpaceIsk(SECRET, REQUEST + Q_SID, SID_BYTES, SECRET, REQUEST + Q_SHARE, REQUEST, ADA_BYTES, response + R_SHARE, response, ADB_BYTES);
  cpaceMacKey(WORK, REQUEST + Q_SID, SID_BYTES, SECRET);
  hmacPrepare(MAC_KEY, ALG_SHA512, WORK, TAG_BYTES);
  cpaceTag(WORK, MAC_KEY, response + R_SHARE, response, ADB_BYTES);
  const tagOk = equal64(WORK, response + R_TAG);
  memory.fill(WORK, 0, TAG_BYTES);
  if (!tagOk) {
    // Another response may still come within the window (this one may be damaged, not forged).
    memory.fill(SECRET, 0, ISK_BYTES);
    hmacForget(MAC_KEY);
    if (activationLocked()) abandonActivation();
    return STATUS_BAD_TAG;
  }
  // One profile per bank service: a registration for a Service ID the token holds (a re-set-up, or
  // an issue registered but never confirmed at the bank) replaces that profile, on the holder's hold,
  // in one record write. Until then the new seed stays in RAM only: the attempt is taken back now,
  // before the seed is derived into the spare slot, so no write carries a seed nobody confirmed.
  replacing = profileForService(REQUEST + Q_SERVICE_ID);
  if (replacing >= 0) {
    store<u32>(RECORD + R_FAILED_ACTIVATIONS, 0);
    status = storeCommit();
    if (status != STATUS_OK) {
      abandonActivation();
      return status;
    }
  }
  const index = profileCount();
  const profile = profileAddress(index);
  const length = seedBytes(algorithm);
  memory.fill(profile, 0, PROFILE_SIZE);
  // seed = HKDF-SHA256(IKM = ISK, salt = empty, info = "otp-token seed v2", L).
  hkdfSha256(profile + P_SEED, length, SECRET, ISK_BYTES, 0, 0, SEED_INFO, SEED_INFO_BYTES);
  store<u8>(profile + P_ALGORITHM, <u8>algorithm);
  store<u8>(profile + P_DIGITS, <u8>digits);
  store<u8>(profile + P_SEED_LENGTH, <u8>length);
  store<u8>(profile + P_LABEL_LENGTH, <u8>labelLength);
  store<u32>(profile + P_PERIOD, period);
  memory.copy(profile + P_LABEL, response + R_LABEL, labelLength);
  memory.copy(profile + P_SERVICE_ID, REQUEST + Q_SERVICE_ID, SERVICE_ID_BYTES);
  if (replacing < 0) {
    store<u8>(RECORD + R_PROFILE_COUNT, <u8>(index + 1));
    store<u32>(RECORD + R_FAILED_ACTIVATIONS, 0);
    status = storeCommit();
    if (status != STATUS_OK) {
      abandonActivation();
      return status;
    }
  }
  cpaceTag(WORK, MAC_KEY, REQUEST + Q_SHARE, REQUEST, ADA_BYTES);
  memory.fill(SECRET, 0, ISK_BYTES);
  hmacForget(MAC_KEY);
  memory.fill(SCALAR, 0, 32);
  pending = false;
  confirmationReady = true;
  return <i32>index;
}

/**
 * Writes message 3 (ACTIVATION_CONFIRMATION_BYTES: Service ID, User ID, sid and Ta) of the activation
 * that activationFinish() just completed to `out`, then forgets that activation.
 */
export function activationConfirmation(out: usize): void {
  if (confirmationReady) {
    store<u8>(out, <u8>ACTIVATION_VERSION);
    store<u8>(out, <u8>ACTIVATION_CONFIRMATION, 1);
    memory.copy(out + C_SERVICE_ID, REQUEST + Q_SERVICE_ID, 24);
    memory.copy(out + C_SID, REQUEST + Q_SID, SID_BYTES);
    memory.copy(out + C_TAG, WORK, TAG_BYTES);
  }
  abandonActivation();
}
