// Shared by the tests of the firmware on the emulated nRF51 (McuToken): whether it can run here, and
// oathtool as the reference for codes.
import { execFileSync } from "node:child_process";
import { mcuUnavailable } from "../host/mcu/mcu-token.js";
import { commandWorks, requireTool } from "./helpers.js";

/** Why the M0 tests cannot run here (then they are skipped with this message, or fail under CI=true), or undefined. */
export const MCU_SKIP = mcuUnavailable();
requireTool("qemu-system-arm", MCU_SKIP === undefined, `the firmware-on-the-M0 tests are skipped: ${MCU_SKIP}`);

/** Generous: QEMU on a busy two-core box is slow, and every test here boots or drives one. */
export const MCU_TIMEOUT_MS = 300_000;

/** Whether oathtool compares the M0's codes here (skipped without it, failed under CI=true); call where tests are collected. */
export function requireOathtool(): boolean {
  return requireTool("oathtool", commandWorks("oathtool", ["--version"]), "the M0's codes are not compared with oathtool");
}

/** oathtool's TOTP (OATH Toolkit), 60 s step unless told otherwise. */
export function oathtool(
  algorithm: "SHA1" | "SHA256" | "SHA512",
  seed: Uint8Array,
  time: bigint | number,
  digits = 6,
  period = 60,
): string {
  return execFileSync("oathtool", [
    `--totp=${algorithm.toLowerCase()}`,
    "-s",
    String(period),
    "-d",
    String(digits),
    "-N",
    `@${time}`,
    Buffer.from(seed).toString("hex"),
  ])
    .toString()
    .trim();
}
