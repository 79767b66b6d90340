// The board, as the firmware sees it: the only imports of token.wasm (module "hal"). A real board
// binds these in C under a small WebAssembly runtime; keep them this thin.

/** Seconds since the Unix epoch from the battery-backed RTC, or -1 if it lost power since last set. */
// @ts-ignore: decorator
@external("hal", "rtcNow") export declare function rtcNow(): i64;
/** Sets the RTC (and clears its lost-power flag). */
// @ts-ignore: decorator
@external("hal", "rtcSet") export declare function rtcSet(seconds: i64): void;
/** Copies `len` bytes of flash at `address` to memory at `ptr`. */
// @ts-ignore: decorator
@external("hal", "flashRead") export declare function flashRead(address: u32, ptr: usize, len: u32): void;
/** Programs (clears bits of) `len` bytes of flash at `address` from memory at `ptr`; 0 or negative. */
// @ts-ignore: decorator
@external("hal", "flashProgram") export declare function flashProgram(address: u32, ptr: usize, len: u32): i32;
/** Erases one page (all bytes 0xFF); 0 or negative. */
// @ts-ignore: decorator
@external("hal", "flashErase") export declare function flashErase(page: u32): i32;
/** The main battery's voltage. */
// @ts-ignore: decorator
@external("hal", "batteryMillivolts") export declare function batteryMillivolts(): u32;
/** Fills `len` bytes at `ptr` from the board's true random source. */
// @ts-ignore: decorator
@external("hal", "random") export declare function random(ptr: usize, len: u32): void;
/**
 * The five light sensors' comparators now, as a 5-bit mask (bit 0 the clock line, bits 1-4 data): called
 * SCAN_HZ times a second while scanning. Each comparator's reference tracks its own sensor's mid level.
 */
// @ts-ignore: decorator
@external("hal", "lightSensors") export declare function lightSensors(): u32;
/**
 * Scan mode starts (1) or ends (0): the board powers the light sensors and starts its SCAN_HZ sampling
 * timer, which calls scan(), or stops both. The firmware alone decides (a gesture on button A).
 */
// @ts-ignore: decorator
@external("hal", "lightPower") export declare function lightPower(on: u32): void;
/** A firmware fault: the board resets the CPU. Never returns. */
// @ts-ignore: decorator
@external("hal", "fault") declare function fault(line: u32, column: u32): void;

/** Replaces AssemblyScript's abort (which would import env.abort with strings): a fault resets the device. */
export function onAbort(message: usize, file: usize, line: u32, column: u32): void {
  fault(line, column);
  unreachable();
}
