// Activation (docs/activation.md, protocol v1): the token's half of the seed agreement. The seed is
// agreed by X25519 and HKDF, never sent; the activation password only keys the tags that bind the
// two halves (PBKDF2 -> K_AC). The ephemeral private key, K_AC, the shared secret and every scratch
// that held them are zeroised on every path: success, refusal, abandonment.
import {
  ACTIVATION_ITERATIONS, ALG_SHA1, ALG_SHA256, ALG_SHA512, MAX_ACTIVATION_FAILURES, MAX_LABEL, MAX_PROFILES,
  STATUS_BAD_FRAME, STATUS_BAD_IDENTITY, STATUS_BAD_PASSWORD, STATUS_BAD_TAG, STATUS_FULL, STATUS_LOCKED,
  STATUS_NOT_ACTIVATING, STATUS_OK,
} from "../abi";
import { hmacForget, hmacParts, hmacPrepare, KEY_SIZE } from "../crypto/hmac";
import { hkdfSha256, pbkdf2Sha256 } from "../crypto/kdf";
import { x25519, x25519Base, x25519IsZero } from "../crypto/x25519";
import { random } from "../hal";
import { labelCharacter } from "./label";
import { validDigits, validPeriod } from "../otp/otp";
import {
  P_ALGORITHM, P_DIGITS, P_LABEL, P_LABEL_LENGTH, P_PERIOD, P_SEED, P_SEED_LENGTH, PROFILE_SIZE, profileAddress,
  profileCount, R_FAILED_ACTIVATIONS, R_PROFILE_COUNT, R_SERIAL, RECORD,
} from "../store/record";
import { storeCommit } from "../store/store";

export const REQUEST_BYTES: u32 = 113;
export const RESPONSE_BYTES: u32 = 100;
const VERSION: u8 = 1;

// "otp-token activation request v1", "otp-token activation response v1", "otp-token seed v1"
const REQUEST_CONTEXT: usize = memory.data<u8>([
  0x6f, 0x74, 0x70, 0x2d, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x20, 0x61, 0x63, 0x74, 0x69, 0x76, 0x61, 0x74, 0x69, 0x6f, 0x6e,
  0x20, 0x72, 0x65, 0x71, 0x75, 0x65, 0x73, 0x74, 0x20, 0x76, 0x31,
]);
const REQUEST_CONTEXT_BYTES: usize = 31;
const RESPONSE_CONTEXT: usize = memory.data<u8>([
  0x6f, 0x74, 0x70, 0x2d, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x20, 0x61, 0x63, 0x74, 0x69, 0x76, 0x61, 0x74, 0x69, 0x6f, 0x6e,
  0x20, 0x72, 0x65, 0x73, 0x70, 0x6f, 0x6e, 0x73, 0x65, 0x20, 0x76, 0x31,
]);
const RESPONSE_CONTEXT_BYTES: usize = 32;
const SEED_CONTEXT_BYTES: usize = 17;

const SEED_CONTEXT: usize = memory.data<u8>([
  0x6f, 0x74, 0x70, 0x2d, 0x74, 0x6f, 0x6b, 0x65, 0x6e, 0x20, 0x73, 0x65, 0x65, 0x64, 0x20, 0x76, 0x31,
]);

// The transcript, laid out so that the HKDF info is one contiguous run:
//   0    17  "otp-token seed v1"
//   17   81  request bytes 0..80 (version, Service ID, User ID, serial, token public key, token nonce)
//   98   68  response bytes 0..67 (version, bank public key, bank nonce, OTP parameters, label)
const TRANSCRIPT_BYTES: usize = SEED_CONTEXT_BYTES + 81 + 68;
const TRANSCRIPT: usize = memory.data(<i32>TRANSCRIPT_BYTES);
const REQUEST: usize = TRANSCRIPT + SEED_CONTEXT_BYTES;
const RESPONSE: usize = REQUEST + 81;

const REQUEST_TAG: usize = memory.data(32);
const PRIVATE_KEY: usize = memory.data(32);
const ACTIVATION_KEY: usize = memory.data(32);
const PREPARED: usize = memory.data(<i32>KEY_SIZE);
const SHARED: usize = memory.data(32);
const TAG: usize = memory.data(32);

let pending = false;

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
  memory.fill(TRANSCRIPT, 0, TRANSCRIPT_BYTES);
  memory.fill(REQUEST_TAG, 0, 32);
  memory.fill(PRIVATE_KEY, 0, 32);
  memory.fill(ACTIVATION_KEY, 0, 32);
  memory.fill(SHARED, 0, 32);
  memory.fill(TAG, 0, 32);
  hmacForget(PREPARED);
  pending = false;
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
 * Begins an activation: checks the inputs, derives K_AC, makes the ephemeral key pair and nonce,
 * and builds the request (activationRequest() copies it out). Replaces any activation under way.
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
  memory.copy(TRANSCRIPT, SEED_CONTEXT, SEED_CONTEXT_BYTES);
  // Request fields 0..80: version, Service ID, User ID, serial (big-endian), public key, nonce.
  store<u8>(REQUEST, VERSION);
  memory.copy(REQUEST + 1, serviceId, 8);
  memory.copy(REQUEST + 9, userId, 16);
  store<u64>(REQUEST + 25, bswap<u64>(load<u64>(RECORD + R_SERIAL)));
  // K_AC = PBKDF2-HMAC-SHA256(password, Service ID || User ID, iterations, 32).
  pbkdf2Sha256(ACTIVATION_KEY, 32, password, passwordLength, REQUEST + 1, 24, ACTIVATION_ITERATIONS);
  hmacPrepare(PREPARED, ALG_SHA256, ACTIVATION_KEY, 32);
  memory.fill(ACTIVATION_KEY, 0, 32);
  random(PRIVATE_KEY, 32);
  x25519Base(REQUEST + 33, PRIVATE_KEY);
  random(REQUEST + 65, 16);
  hmacParts(PREPARED, REQUEST_TAG, REQUEST_CONTEXT, REQUEST_CONTEXT_BYTES, REQUEST, 81, 0, 0, 0, 0);
  pending = true;
  return STATUS_OK;
}

/** Writes the request message (REQUEST_BYTES) of the activation under way to `out`. */
export function activationRequest(out: usize): void {
  memory.copy(out, REQUEST, 81);
  memory.copy(out + 81, REQUEST_TAG, 32);
}

/** Constant-time equality of 32 bytes. */
function equal32(a: usize, b: usize): bool {
  let difference: u64 = 0;
  for (let i: usize = 0; i < 32; i += 8) difference |= load<u64>(a + i) ^ load<u64>(b + i);
  return difference == 0;
}

function seedBytes(algorithm: u32): u32 {
  return algorithm == ALG_SHA1 ? 20 : algorithm == ALG_SHA256 ? 32 : 64;
}

/**
 * Finishes the activation with the bank's response (RESPONSE_BYTES at `response`): checks it,
 * counts the attempt in flash before checking the tag, derives the seed into a new profile and
 * stores it in one record write. Returns the new profile's index, or a negative status.
 */
export function activationFinish(response: usize): i32 {
  if (!pending) return STATUS_NOT_ACTIVATING;
  const algorithm = <u32>load<u8>(response + 49);
  const digits = <u32>load<u8>(response + 50);
  const period = bswap<u32>(load<u32>(response + 51));
  const labelLength = <u32>load<u8>(response + 55);
  let status = STATUS_OK;
  if (load<u8>(response) != VERSION) status = STATUS_BAD_FRAME;
  else if (algorithm < ALG_SHA1 || algorithm > ALG_SHA512) status = STATUS_BAD_FRAME;
  else if (!validDigits(digits) || !validPeriod(period)) status = STATUS_BAD_FRAME;
  else if (labelLength == 0 || labelLength > MAX_LABEL) status = STATUS_BAD_FRAME;
  for (let i: u32 = 0; status == STATUS_OK && i < MAX_LABEL; i++) {
    const c = <u32>load<u8>(response + 56 + i);
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
  hmacParts(PREPARED, TAG, RESPONSE_CONTEXT, RESPONSE_CONTEXT_BYTES, REQUEST, 81, REQUEST_TAG, 32, response, 68);
  const tagOk = equal32(TAG, response + 68);
  memory.fill(TAG, 0, 32);
  if (!tagOk) {
    if (activationLocked()) abandonActivation();
    return STATUS_BAD_TAG;
  }
  x25519(SHARED, PRIVATE_KEY, response + 1);
  if (x25519IsZero(SHARED)) {
    abandonActivation();
    return STATUS_BAD_TAG;
  }
  memory.copy(RESPONSE, response, 68);
  const index = profileCount();
  const profile = profileAddress(index);
  const length = seedBytes(algorithm);
  memory.fill(profile, 0, PROFILE_SIZE);
  // seed = HKDF-SHA256(shared, token nonce || bank nonce, "otp-token seed v1" || request || response).
  // The nonces sit 16 bytes apart in the transcript; join them in TAG (32 bytes) as the salt.
  memory.copy(TAG, REQUEST + 65, 16);
  memory.copy(TAG + 16, response + 33, 16);
  hkdfSha256(profile + P_SEED, length, SHARED, 32, TAG, 32, TRANSCRIPT, TRANSCRIPT_BYTES);
  store<u8>(profile + P_ALGORITHM, <u8>algorithm);
  store<u8>(profile + P_DIGITS, <u8>digits);
  store<u8>(profile + P_SEED_LENGTH, <u8>length);
  store<u8>(profile + P_LABEL_LENGTH, <u8>labelLength);
  store<u32>(profile + P_PERIOD, period);
  memory.copy(profile + P_LABEL, response + 56, labelLength);
  store<u8>(RECORD + R_PROFILE_COUNT, <u8>(index + 1));
  store<u32>(RECORD + R_FAILED_ACTIVATIONS, 0);
  status = storeCommit();
  abandonActivation();
  return status == STATUS_OK ? <i32>index : status;
}
