// The optical frame decoder (docs/transaction-signing.md, "The optical channel"): five comparator
// bits a sample in, frames out. Nothing here knows the sample rate or the page's speed:
//   - a clock level counts once it is seen in CLOCK_CONFIRM samples in a row, so one noisy sample
//     cannot fake an edge, and any number of samples per level (doubled ones included) is one nibble;
//   - a level's nibble is each data bit's majority over the level's samples, skipping the sample that
//     first showed the new clock level (the screen may be mid-refresh there): noise and the sensors'
//     slow edges lose votes, not bits;
//   - the marker byte is looked for at every nibble, so the decoder locks on wherever it starts
//     watching, and a frame whose CRC-32 fails (a missed level, a false marker in the payload) is
//     dropped for the next repetition.
import { OPTICAL_MARKER, OPTICAL_MAX_PAYLOAD, STATUS_BAD_CHECKSUM } from "../abi";
import { crc32 } from "../store/crc32";

/** Samples in a row that make a new clock level count. */
const CLOCK_CONFIRM: u32 = 2;
/** The length byte, its complement, the payload and the CRC-32: the frame after its marker. */
export const OPTICAL_FRAME_SIZE: u32 = 2 + OPTICAL_MAX_PAYLOAD + 4;
/** The last frame: its length byte at 0, the complement at 1, then the payload. Valid after opticalSample returned its length. */
export const OPTICAL_FRAME: usize = memory.data(<i32>OPTICAL_FRAME_SIZE);

// Decoder state.
let clock: u32 = 0; // the confirmed clock level
let pending: u32 = 0; // samples in a row showing the other clock level
let samples: u32 = 0; // samples voting in this level
let votes: u32 = 0; // four 8-bit counters of ones, one per data line
let nibbles: u32 = 0; // the last nibbles, newest in the low 4 bits
let nibbleCount: u32 = 0; // 0 while hunting for the marker, then 1 + the nibbles since it
let frameBytes: u32 = 0; // bytes of the frame after the marker expected: 2 + length + 4

/** Forgets any frame under way (scanning starts or stops). */
export function opticalReset(): void {
  clock = 0;
  pending = 0;
  samples = 0;
  votes = 0;
  nibbles = 0;
  nibbleCount = 0;
  frameBytes = 0;
}

function vote(mask: u32): void {
  // Votes saturate at 255 a line: a level never lasts that long at any speed the page offers.
  if (samples < 255) {
    samples++;
    votes += ((mask >>> 1) & 1) | (((mask >>> 2) & 1) << 8) | (((mask >>> 3) & 1) << 16) | (((mask >>> 4) & 1) << 24);
  }
}

function majorityNibble(): u32 {
  let nibble: u32 = 0;
  for (let line: u32 = 0; line < 4; line++) {
    if (((votes >>> (line << 3)) & 0xff) * 2 > samples) nibble |= 1 << line;
  }
  return nibble;
}

/** Takes one nibble; returns the payload length when a frame is complete and sound, else 0 or a status. */
function takeNibble(nibble: u32): i32 {
  nibbles = (nibbles << 4) | nibble;
  if (nibbleCount == 0) {
    // Hunting: the marker may end at any nibble.
    if ((nibbles & 0xff) == OPTICAL_MARKER) {
      nibbleCount = 1;
      frameBytes = 2;
    }
    return 0;
  }
  // nibbleCount is 1 + the nibbles since the marker: even after a byte's high nibble.
  nibbleCount++;
  if ((nibbleCount & 1) == 0) return 0;
  const index = ((nibbleCount - 1) >>> 1) - 1;
  const byte = nibbles & 0xff;
  store<u8>(OPTICAL_FRAME + <usize>index, <u8>byte);
  if (index == 0) {
    if (byte == 0 || byte > OPTICAL_MAX_PAYLOAD) nibbleCount = 0;
    return 0;
  }
  if (index == 1) {
    // The length's complement: a marker that was payload (one nibble pair in 256) is caught here,
    // before it can swallow the true frame's start, all but once in 256 times.
    if ((byte ^ load<u8>(OPTICAL_FRAME)) != 0xff) nibbleCount = 0;
    else frameBytes = 2 + <u32>load<u8>(OPTICAL_FRAME) + 4;
    return 0;
  }
  if (index + 1 < frameBytes) return 0;
  nibbleCount = 0;
  const length = <u32>load<u8>(OPTICAL_FRAME);
  const sent = bswap<u32>(load<u32>(OPTICAL_FRAME + <usize>(2 + length)));
  if (crc32(OPTICAL_FRAME, <usize>(2 + length)) != sent) return STATUS_BAD_CHECKSUM;
  return <i32>length;
}

/**
 * Feeds one sample (the lightSensors() mask). Returns 0 while no frame is complete, a frame's payload
 * length when one arrived sound (the payload is at OPTICAL_FRAME + 2), or STATUS_BAD_CHECKSUM.
 */
export function opticalSample(mask: u32): i32 {
  const level = mask & 1;
  if (level == clock) {
    pending = 0;
    vote(mask);
    return 0;
  }
  pending++;
  if (pending < CLOCK_CONFIRM) return 0;
  // The clock changed: the level that ended gives its nibble; this sample opens the new level's votes.
  clock = level;
  pending = 0;
  const result = samples > 0 ? takeNibble(majorityNibble()) : 0;
  samples = 0;
  votes = 0;
  vote(mask);
  return result;
}
