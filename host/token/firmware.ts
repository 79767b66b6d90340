// Loading the token firmware (build/token*.wasm) against a board's HAL, and its typed exports.
import { ABI_VERSION } from "../abi.js";
import { instantiate } from "../wasm.js";

export type FirmwareBuild = "release" | "debug";
export const FIRMWARE_FILES: Record<FirmwareBuild, string> = { release: "token.wasm", debug: "token.debug.wasm" };

export interface FirmwareExports {
  memory: WebAssembly.Memory;
  FRAMEBUFFER: number;
  FRAMEBUFFER_SIZE: number;
  DISPLAY_MODEL: number;
  DISPLAY_MODEL_SIZE: number;
  LINK_BUFFER: number;
  LINK_SIZE: number;
  OPTICAL_FRAME: number;
  OPTICAL_FRAME_SIZE: number;
  abiVersion(): number;
  boot(): number;
  tick(): bigint;
  button(event: number): bigint;
  link(len: number): number;
  scan(): number;
  wakeAt(): bigint;
  compressionCount(): number;
}

/** The firmware called hal.fault (an AssemblyScript abort): the board resets the CPU. */
export class FirmwareFault extends Error {
  override name = "FirmwareFault";
  constructor(
    readonly line: number,
    readonly column: number,
  ) {
    super(`firmware fault at line ${line}, column ${column}: the token resets`);
  }
}

/** The `hal` import object a board provides (host/board/board.ts builds it). */
export type HalImports = Record<string, (...args: never[]) => unknown>;

/**
 * Instantiates the firmware with the board's HAL. `memory` is handed to the board lazily: the HAL
 * functions read and write wasm memory (flash reads, random bytes) through it.
 */
export function loadFirmware(build: FirmwareBuild, hal: (memory: () => Uint8Array) => HalImports): FirmwareExports {
  let exports: FirmwareExports | undefined;
  const memory = () => {
    if (!exports) throw new Error("the HAL was called before the firmware was instantiated");
    return new Uint8Array(exports.memory.buffer);
  };
  const imports = {
    hal: {
      ...hal(memory),
      fault(line: number, column: number): never {
        throw new FirmwareFault(line, column);
      },
    },
  };
  exports = instantiate<FirmwareExports>(FIRMWARE_FILES[build], imports);
  const version = exports.abiVersion();
  if (version !== ABI_VERSION)
    throw new Error(`${FIRMWARE_FILES[build]} speaks ABI ${version}, the host expects ${ABI_VERSION}: rebuild with npm run build`);
  return exports;
}
