// The token firmware (build/token.wasm): the entry points the board calls. See docs/design.md, "The
// firmware's boundary". Numbers only cross; buffers are static and exported as pointer/size pairs.
import { ABI_VERSION } from "./abi";
import { compressionCount as countCompressions } from "./crypto/md";
import { deviceBoot, deviceButton, deviceScanning, deviceTick, deviceTransfer, DISPLAY_MODEL, DISPLAY_MODEL_SIZE, nextWake } from "./device/device";
import { LINK_BUFFER, LINK_SIZE, linkCommand } from "./device/link";
import { FB_BYTES, FRAMEBUFFER } from "./display/framebuffer";
import { lightSensors } from "./hal";
import { OPTICAL_FRAME, OPTICAL_FRAME_SIZE, opticalSample } from "./optical/decoder";

export { DISPLAY_MODEL, DISPLAY_MODEL_SIZE, FB_BYTES as FRAMEBUFFER_SIZE, FRAMEBUFFER, LINK_BUFFER, LINK_SIZE, OPTICAL_FRAME, OPTICAL_FRAME_SIZE };

/** Called once by the host after instantiation, to check it speaks this interface. */
export function abiVersion(): u32 {
  return ABI_VERSION;
}

/** Called once at power-on: self-test, load flash. Returns STATUS_OK or why the token cannot work. */
export function boot(): i32 {
  return deviceBoot();
}

/** Called when the wake-up time the firmware asked for arrives. Returns the next one (0: sleep). */
export function tick(): i64 {
  return deviceTick();
}

/** Called on each button event (BUTTON_*). Returns the next wake-up time. */
export function button(event: u32): i64 {
  return deviceButton(event);
}

/** Called with one command frame of `len` bytes in LINK_BUFFER; returns the response length. */
export function link(len: u32): u32 {
  return linkCommand(len);
}

/**
 * Called by the board's sampling timer SCAN_HZ times a second while the token is in scan mode (between
 * the firmware's lightPower(1) and lightPower(0)): reads the light sensors and feeds the frame decoder;
 * a sound frame that is a transfer goes to the screen for the holder to confirm. Returns 0, a sound
 * frame's payload length (at OPTICAL_FRAME + 2), STATUS_BAD_CHECKSUM, or for a sound frame the token
 * cannot take STATUS_BAD_TRANSACTION or STATUS_DENIED; after a sound frame the firmware has left scan
 * mode (lightPower(0)) and the board asks wakeAt(). Outside scan mode it reads nothing and returns 0.
 */
export function scan(): i32 {
  if (!deviceScanning()) return 0;
  const length = opticalSample(lightSensors());
  if (length <= 0) return length;
  return deviceTransfer(OPTICAL_FRAME + 2, <u32>length);
}

/** The wake-up time the firmware wants now (after link commands, which may turn the panel on). */
export function wakeAt(): i64 {
  return nextWake();
}

/** Compression-function calls so far (debug build), or -1. */
export function compressionCount(): i32 {
  return countCompressions();
}

/** Bytes of static memory (everything below the heap base; there is no heap). For size reports. */
export function staticBytes(): u32 {
  return <u32>__heap_base;
}
