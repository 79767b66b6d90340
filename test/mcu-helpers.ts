// Shared by the tests of the firmware on the emulated nRF51 (McuToken): whether it can run here, and
// oathtool as the reference for codes.
import { execFileSync } from "node:child_process";
import { mcuUnavailable } from "../host/mcu/mcu-token.js";

/** Why the M0 tests cannot run here (then they are skipped with this message), or undefined. */
export const MCU_SKIP = mcuUnavailable();
if (MCU_SKIP) console.warn(`the firmware-on-the-M0 tests are skipped: ${MCU_SKIP}`);

/** Generous: QEMU on a busy two-core box is slow, and every test here boots or drives one. */
export const MCU_TIMEOUT_MS = 300_000;

function oathtoolInstalled(): boolean {
  try {
    execFileSync("oathtool", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export const HAS_OATHTOOL = oathtoolInstalled();
if (!HAS_OATHTOOL) console.warn("oathtool is not installed: the M0's codes are not compared with it (.ci/run installs it)");

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
