// The byte protocol between a host and the token firmware running on the nRF51 (mcu/main.c), over
// its UART. Defined once here: scripts/build-mcu.js writes every numeric export of this file (and of
// host/abi.ts) into build/mcu/token_abi.h for the C side.
//
// A frame is: type (u8), payload length (u16, little-endian), payload. Each frame the host sends gets
// exactly one reply frame: its own type with the answer, or FRAME_ERROR. A fault resets the board;
// the reply then never comes and FRAME_BOOTED (reason BOOT_FAULT) arrives instead.
//
// FRAME_LINK carries the token's link commands (assembly/device/link.ts) and is all a product image
// (build/mcu/token.elf on the part, token-qemu.elf in QEMU) understands. Harness images (build/mcu/token-harness.elf) add the commands a
// test bench needs: pacing the clock, pressing the button, reading the panel and the flash, metering.
import { FRESH_CELL_MILLIVOLTS } from "../board/battery.js";

/** Host -> token: one link command frame; the reply carries the link response. */
export const FRAME_LINK = 0x4c;
/** Token -> host at every power-on and reset: image kind (u8), clock Hz (u32), meter Hz (u32). */
export const FRAME_HELLO = 0x48;
/** Token -> host after boot(): status (i32), reason (u8, BOOT_*), fault cause (u32), fault detail (u32). */
export const FRAME_BOOTED = 0x42;
/** Token -> host: the frame was refused; payload: the refused type (u8) and why (u8, FRAME_ERROR_*). */
export const FRAME_ERROR = 0x45;

// Harness images only.
/** Boot the firmware now (a harness image waits for it after power-on, so the host can load flash). */
export const FRAME_GO = 0x47;
/** Let the clock run until tick (u64) of the harness clock; the reply (tick u64, RTC seconds i64) comes when it is there. */
export const FRAME_ADVANCE = 0x41;
/** Button A down (payload 1) or up (0) at the current instant; the reply follows the event's handling. */
export const FRAME_BUTTON = 0x4b;
/** Reply: the display model's size (u16), the display model, the framebuffer (as the firmware exports them). */
export const FRAME_SCREEN = 0x53;
/** The battery voltage the HAL reports from now on (u16 mV). */
export const FRAME_BATTERY = 0x56;
/** Read flash: offset (u16), length (u16), within the token's FLASH_SIZE_BYTES. */
export const FRAME_FLASH_READ = 0x46;
/** Before FRAME_GO: erase page (u8) and program it with the FLASH_PAGE_BYTES that follow. Reply: status (i8). */
export const FRAME_FLASH_WRITE = 0x57;
/** Before FRAME_GO: the battery-backed RTC reads these seconds (i64; -1: lost). */
export const FRAME_RTC = 0x54;
/** Reply: the meter (decodeMeter in host/mcu/meter.ts). */
export const FRAME_METER = 0x4d;
/**
 * The sensors fed from the host, in the scan mode the firmware is in (the holder's gesture on button A
 * started it; refused with FRAME_ERROR_STATE otherwise): the payload is a recorded stream of sensor
 * masks (u8 each, bit 0 the clock bar), one per tick of the sampling timer. At each tick the main loop
 * takes (as on the product image) the harness drives the five sensor pins with the next mask first. Reply: scan()'s
 * last answer (i32), masks used (u32), the decoding samples' meter ticks in all (u32) and the largest
 * (u32), sound frames that failed their CRC (u32), the ticks of the sample that took a sound frame
 * (u32; 0 if none). A sound frame (taken or refused), a press or the timeout ends scan mode and the
 * rest of the stream is dropped; otherwise scanning goes on with the next FRAME_SCAN.
 */
export const FRAME_SCAN = 0x4f;
/** Run the fault path as a WebAssembly trap does (the board resets; FRAME_BOOTED answers). */
export const FRAME_FAULT = 0x58;

// Why a frame was refused.
export const FRAME_ERROR_UNKNOWN = 1;
export const FRAME_ERROR_TOO_LONG = 2;
export const FRAME_ERROR_STATE = 3;
export const FRAME_ERROR_RANGE = 4;

// Image kinds (FRAME_HELLO).
export const IMAGE_PRODUCT = 0;
export const IMAGE_HARNESS = 1;

// Why the firmware booted (FRAME_BOOTED).
export const BOOT_POWER_ON = 0;
export const BOOT_FAULT = 1;

// Fault causes (FRAME_BOOTED after BOOT_FAULT).
/** A WebAssembly trap (detail: wasm2c's wasm_rt_trap_t, 1 = out-of-bounds memory access). */
export const FAULT_TRAP = 1;
/** The firmware called hal.fault (detail: its line). */
export const FAULT_HAL = 2;
/** A Cortex-M0 HardFault (detail: the faulting pc). */
export const FAULT_HARDFAULT = 3;

// The firmware entry point a meter reading belongs to.
export const CALL_BOOT = 0;
export const CALL_TICK = 1;
export const CALL_BUTTON = 2;
export const CALL_LINK = 3;
export const CALL_SCAN = 4;

/** The voltage a harness image reports until told otherwise, and a product image always (QEMU models no ADC). */
export const BOARD_BATTERY_MILLIVOLTS = FRESH_CELL_MILLIVOLTS;

/** Largest payload either side sends (a FLASH_WRITE page plus its page byte). */
export const FRAME_MAX_PAYLOAD = 1025;

export const FRAME_NAMES: Record<number, string> = {
  [FRAME_LINK]: "LINK",
  [FRAME_HELLO]: "HELLO",
  [FRAME_BOOTED]: "BOOTED",
  [FRAME_ERROR]: "ERROR",
  [FRAME_GO]: "GO",
  [FRAME_ADVANCE]: "ADVANCE",
  [FRAME_BUTTON]: "BUTTON",
  [FRAME_SCREEN]: "SCREEN",
  [FRAME_BATTERY]: "BATTERY",
  [FRAME_FLASH_READ]: "FLASH_READ",
  [FRAME_FLASH_WRITE]: "FLASH_WRITE",
  [FRAME_RTC]: "RTC",
  [FRAME_METER]: "METER",
  [FRAME_FAULT]: "FAULT",
  [FRAME_SCAN]: "SCAN",
};
