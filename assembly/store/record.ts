// The token's persistent state: one record, kept in RAM exactly as it is laid out in flash.
//
//   0    u32  magic "OTPT"
//   4    u16  format version
//   6    u16  record bytes (RECORD_SIZE)
//   8    u32  sequence number (the newest valid record wins)
//   12   u32  failed activation attempts (written before the attempt it counts)
//   16   u64  serial number (random, made at the first boot)
//   24   i64  latest time recorded (Unix seconds; a clock reading below it is "clock lost")
//   32   u8   number of profiles
//   33   u8   active profile
//   34   2    reserved
//   36   u32  reserved
//   40   profiles, MAX_PROFILES x PROFILE_SIZE:
//        0  u8  algorithm (ALG_*; 0 = empty)
//        1  u8  digits
//        2  u8  seed bytes
//        3  u8  label bytes
//        4  u32 period (seconds)
//        8  12  label (ASCII)
//        20 64  seed
//        84 8   Service ID (ASCII digits; zero for a profile programmed over the link, ADD_PROFILE)
//        92 4   reserved
//   808  u32  CRC-32 of bytes 0..807
import { MAX_LABEL, MAX_PROFILES, MAX_SEED, SERVICE_ID_BYTES } from "../abi";

export const RECORD_MAGIC: u32 = 0x5450544f; // "OTPT" little-endian
export const RECORD_VERSION: u16 = 1;

export const R_MAGIC: usize = 0;
export const R_VERSION: usize = 4;
export const R_SIZE: usize = 6;
export const R_SEQUENCE: usize = 8;
export const R_FAILED_ACTIVATIONS: usize = 12;
export const R_SERIAL: usize = 16;
export const R_LATEST_TIME: usize = 24;
export const R_PROFILE_COUNT: usize = 32;
export const R_ACTIVE_PROFILE: usize = 33;
export const R_PROFILES: usize = 40;

export const P_ALGORITHM: usize = 0;
export const P_DIGITS: usize = 1;
export const P_SEED_LENGTH: usize = 2;
export const P_LABEL_LENGTH: usize = 3;
export const P_PERIOD: usize = 4;
export const P_LABEL: usize = 8;
export const P_SEED: usize = 20;
/** Written by activation only; the reserved bytes of format version 1 were zero, so older records read as "none". */
export const P_SERVICE_ID: usize = 84;
export const PROFILE_SIZE: usize = 96;

export const R_CRC: usize = R_PROFILES + <usize>MAX_PROFILES * PROFILE_SIZE;
export const RECORD_SIZE: usize = R_CRC + 4;

// The layout above must hold the largest label and seed.
// @ts-ignore: compile-time check
assert(P_LABEL + <usize>MAX_LABEL <= P_SEED && P_SEED + <usize>MAX_SEED <= P_SERVICE_ID
  && P_SERVICE_ID + <usize>SERVICE_ID_BYTES <= PROFILE_SIZE);

/** The RAM image of the current record. */
export const RECORD: usize = memory.data(<i32>RECORD_SIZE);

// @ts-ignore: decorator
@inline export function profileAddress(index: u32): usize {
  return RECORD + R_PROFILES + <usize>index * PROFILE_SIZE;
}

// @ts-ignore: decorator
@inline export function profileCount(): u32 {
  return <u32>load<u8>(RECORD + R_PROFILE_COUNT);
}

/**
 * The index of the profile registered for the 8-digit Service ID at `serviceId`, or -1: a token keeps
 * one profile per bank service (a profile programmed over the link has none and never matches).
 */
export function profileForService(serviceId: usize): i32 {
  const count = profileCount();
  for (let i: u32 = 0; i < count; i++) {
    if (memory.compare(profileAddress(i) + P_SERVICE_ID, serviceId, SERVICE_ID_BYTES) == 0) return <i32>i;
  }
  return -1;
}
