// NOR flash as the firmware's records see it: erased bytes read 0xFF, programming can only clear bits
// (1 -> 0), only a whole page can be erased back to 0xFF, and every erase wears the page. A power cut
// can be injected after the k-th operation to check that the record format survives any interruption.
import { mulberry32 } from "./random.js";

export const FLASH_SIZE_BYTES = 16384; // bytes
export const FLASH_PAGE_BYTES = 1024; // bytes, erase unit
export const FLASH_ERASED_BYTE = 0xff;

/** Status returned to the firmware by flashProgram/flashErase for an address or page outside the chip. */
export const FLASH_OK = 0;
export const FLASH_OUT_OF_RANGE = -1;

export interface NorFlashConfig {
  sizeBytes: number; // bytes, a whole number of pages
  pageBytes: number; // bytes, erase unit
  seed?: number; // seeds the PRNG that shapes torn operations; default 1
}

/** How an injected power cut treats the interrupted operation. */
export type PowerCutMode = "clean" | "torn";

/** A program that would need a bit to go 0 -> 1. Real flash silently keeps the 0: a firmware bug. */
export class FlashMisuseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlashMisuseError";
  }
}

/** The supply failed during or before a flash operation; thrown through the wasm call like a CPU dying. */
export class PowerCutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PowerCutError";
  }
}

/** The wasm `hal` functions for flash; pointers and lengths are in wasm memory. */
export interface FlashHalImports {
  flashRead(addr: number, ptr: number, len: number): void;
  flashProgram(addr: number, ptr: number, len: number): number;
  flashErase(page: number): number;
}

interface PendingCut {
  atOperation: number; // 1-based count of operations since cutPowerAfter()
  mode: PowerCutMode;
}

export class NorFlash {
  readonly sizeBytes: number; // bytes
  readonly pageBytes: number; // bytes
  readonly pageCount: number;
  /** Erases per page, including erases interrupted in "torn" mode (the cell was stressed). */
  readonly eraseCounts: number[];
  programCount = 0;
  eraseCount = 0;

  private readonly cells: Uint8Array;
  private readonly nextRandom: () => number;
  private pendingCut: PendingCut | undefined;
  private operationsSinceArm = 0;
  private powered = true;

  constructor(config: Partial<NorFlashConfig> = {}) {
    this.sizeBytes = config.sizeBytes ?? FLASH_SIZE_BYTES;
    this.pageBytes = config.pageBytes ?? FLASH_PAGE_BYTES;
    if (!Number.isSafeInteger(this.pageBytes) || this.pageBytes <= 0) {
      throw new RangeError(`pageBytes must be a positive whole number of bytes, got ${this.pageBytes}`);
    }
    if (!Number.isSafeInteger(this.sizeBytes) || this.sizeBytes <= 0 || this.sizeBytes % this.pageBytes !== 0) {
      throw new RangeError(`sizeBytes must be a positive multiple of pageBytes (${this.pageBytes}), got ${this.sizeBytes}`);
    }
    this.pageCount = this.sizeBytes / this.pageBytes;
    this.cells = new Uint8Array(this.sizeBytes).fill(FLASH_ERASED_BYTE);
    this.eraseCounts = new Array<number>(this.pageCount).fill(0);
    this.nextRandom = mulberry32(config.seed ?? 1);
  }

  /** Restores a saved image(); erase counters start at 0 unless given. */
  static fromImage(bytes: Uint8Array, config: Partial<NorFlashConfig> & { eraseCounts?: readonly number[] } = {}): NorFlash {
    const flash = new NorFlash({ ...config, sizeBytes: config.sizeBytes ?? bytes.length });
    if (bytes.length !== flash.sizeBytes) {
      throw new RangeError(`flash image is ${bytes.length} bytes, the chip holds ${flash.sizeBytes} bytes`);
    }
    flash.cells.set(bytes);
    if (config.eraseCounts) {
      if (config.eraseCounts.length !== flash.pageCount) {
        throw new RangeError(`eraseCounts needs one entry per page (${flash.pageCount}), got ${config.eraseCounts.length}`);
      }
      for (const [page, count] of config.eraseCounts.entries()) flash.eraseCounts[page] = count;
    }
    return flash;
  }

  /** Replaces the whole contents with a saved image() (as a programmer loading a dump would). */
  load(bytes: Uint8Array): void {
    if (bytes.length !== this.sizeBytes) {
      throw new RangeError(`flash image is ${bytes.length} bytes, the chip holds ${this.sizeBytes} bytes`);
    }
    this.cells.set(bytes);
  }

  /** Programs plus erases that reached the cells (an operation cut in "clean" mode did not). */
  get operationCount(): number {
    return this.programCount + this.eraseCount;
  }

  /** False after an injected cut (or powerOff) until restorePower(). */
  get hasPower(): boolean {
    return this.powered;
  }

  /** A copy of the whole contents. Works while the power is cut, for inspecting what a cut left. */
  image(): Uint8Array {
    return this.cells.slice();
  }

  /** A copy of `len` bytes at `addr`. Reading never wears the chip and works while unpowered (inspection). */
  read(addr: number, len: number): Uint8Array {
    this.checkRange("read", addr, len);
    return this.cells.slice(addr, addr + len);
  }

  /** Clears bits: each byte becomes `bytes[i]`, which must not have a 1 where the cell has a 0. */
  program(addr: number, bytes: Uint8Array): void {
    this.checkRange("program", addr, bytes.length);
    this.checkPowered();
    for (let i = 0; i < bytes.length; i++) {
      const cell = this.cells[addr + i]!;
      const wanted = bytes[i]!;
      if ((wanted & ~cell & 0xff) !== 0) {
        throw new FlashMisuseError(
          `flash program at address 0x${hex(addr + i, 4)} would set bits 0 -> 1: the byte holds 0x${hex(cell, 2)}, ` +
            `the program wants 0x${hex(wanted, 2)}; erase the page first (NOR programming can only clear bits)`,
        );
      }
    }
    const cut = this.takeCut();
    if (cut === "clean") this.die(`program of ${bytes.length} bytes at 0x${hex(addr, 4)}`);
    this.programCount++;
    // A torn program stops somewhere strictly before the end: bytes are programmed in address order.
    const written = cut === "torn" ? this.randomBelow(bytes.length) : bytes.length;
    this.cells.set(bytes.subarray(0, written), addr);
    if (cut === "torn") this.die(`program of ${bytes.length} bytes at 0x${hex(addr, 4)} after ${written} bytes`);
  }

  /** Sets every byte of `page` to 0xFF and counts one erase of that page. */
  erase(page: number): void {
    if (!Number.isSafeInteger(page) || page < 0 || page >= this.pageCount) {
      throw new RangeError(`flash page must be 0-${this.pageCount - 1}, got ${page}`);
    }
    this.checkPowered();
    const cut = this.takeCut();
    if (cut === "clean") this.die(`erase of page ${page}`);
    this.eraseCount++;
    this.eraseCounts[page]!++;
    const start = page * this.pageBytes;
    if (cut === "torn") {
      // A real interrupted erase leaves the page indeterminate. Here each byte is either fully erased
      // or untouched, decided by the seeded PRNG, so a record header can survive while its body does not.
      for (let i = start; i < start + this.pageBytes; i++) {
        if (this.nextRandom() & 1) this.cells[i] = FLASH_ERASED_BYTE;
      }
      this.die(`erase of page ${page} (page partially erased)`);
    }
    this.cells.fill(FLASH_ERASED_BYTE, start, start + this.pageBytes);
  }

  /**
   * Arms a power cut: the next `k` programs/erases complete, operation k+1 is interrupted (in "torn"
   * mode it leaves partial work, in "clean" mode none), throws PowerCutError, and every later program or
   * erase throws PowerCutError until restorePower(). Replaces any cut already armed.
   */
  cutPowerAfter(k: number, mode: PowerCutMode = "torn"): void {
    if (!Number.isSafeInteger(k) || k < 0) throw new RangeError(`cutPowerAfter(k) needs k >= 0, got ${k}`);
    this.pendingCut = { atOperation: k + 1, mode };
    this.operationsSinceArm = 0;
  }

  /** Removes power now, between operations (the board was switched off). */
  powerOff(): void {
    this.powered = false;
    this.pendingCut = undefined;
  }

  /** Power is back; any armed cut that has not fired is disarmed too. */
  restorePower(): void {
    this.powered = true;
    this.pendingCut = undefined;
  }

  /**
   * The wasm `hal` flash functions over `memory()` (called per access: the view is only valid for the
   * current buffer). Out-of-range addresses return FLASH_OUT_OF_RANGE; a 0 -> 1 program throws
   * FlashMisuseError (a firmware bug, not a status); a cut throws PowerCutError out of the wasm call.
   */
  halImports(memory: () => Uint8Array): FlashHalImports {
    return {
      flashRead: (addr, ptr, len) => {
        this.checkPowered();
        if (!this.inRange(addr, len)) {
          throw new FlashMisuseError(`flashRead of ${len} bytes at ${addr} is outside the ${this.sizeBytes}-byte flash`);
        }
        wasmSlice(memory(), ptr, len).set(this.cells.subarray(addr, addr + len));
      },
      flashProgram: (addr, ptr, len) => {
        if (!this.inRange(addr, len)) return FLASH_OUT_OF_RANGE;
        // Copied, so a view into memory cannot change under a half-done program.
        this.program(addr, wasmSlice(memory(), ptr, len).slice());
        return FLASH_OK;
      },
      flashErase: (page) => {
        if (!Number.isSafeInteger(page) || page < 0 || page >= this.pageCount) return FLASH_OUT_OF_RANGE;
        this.erase(page);
        return FLASH_OK;
      },
    };
  }

  private inRange(addr: number, len: number): boolean {
    return Number.isSafeInteger(addr) && Number.isSafeInteger(len) && addr >= 0 && len >= 0 && addr + len <= this.sizeBytes;
  }

  private checkRange(what: string, addr: number, len: number): void {
    if (!this.inRange(addr, len)) {
      throw new RangeError(`flash ${what} of ${len} bytes at address ${addr} is outside 0-${this.sizeBytes - 1}`);
    }
  }

  private checkPowered(): void {
    if (!this.powered) throw new PowerCutError("flash has no power: call restorePower() (reboot) first");
  }

  /** Counts one operation against an armed cut; returns the cut mode if this operation is the one cut. */
  private takeCut(): PowerCutMode | undefined {
    if (!this.pendingCut) return undefined;
    this.operationsSinceArm++;
    if (this.operationsSinceArm < this.pendingCut.atOperation) return undefined;
    const { mode } = this.pendingCut;
    this.pendingCut = undefined;
    return mode;
  }

  private die(what: string): never {
    this.powered = false;
    throw new PowerCutError(`power cut during flash ${what}`);
  }

  /** A deterministic integer in [0, n) (0 when n is 0). */
  private randomBelow(n: number): number {
    return n === 0 ? 0 : this.nextRandom() % n;
  }
}

function wasmSlice(memory: Uint8Array, ptr: number, len: number): Uint8Array {
  if (!Number.isSafeInteger(ptr) || !Number.isSafeInteger(len) || ptr < 0 || len < 0 || ptr + len > memory.length) {
    throw new RangeError(`wasm buffer of ${len} bytes at ${ptr} is outside the ${memory.length}-byte memory`);
  }
  return memory.subarray(ptr, ptr + len);
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, "0");
}
