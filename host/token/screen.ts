// What the token's display model (DISPLAY_MODEL, written by assembly/device/device.ts beside the
// framebuffer) says is on the panel, decoded the same way for every board the firmware runs on:
// the simulated board (SimToken) and the emulated nRF51 (McuToken).
import {
  MODE_ACTIVATING,
  MODE_ADD_CONFIRM,
  MODE_CLOCK_LOST,
  MODE_DELETE_CONFIRM,
  MODE_ERASE_CONFIRM,
  MODE_INFO,
  MODE_LOCKED,
  MODE_LOW_BATTERY,
  MODE_NOT_SET_UP,
  MODE_OFF,
  MODE_OTP,
  MODE_REPLACE_CONFIRM,
  MODE_SCAN,
  MODE_SELF_TEST_FAILED,
  MODE_STORAGE_ERROR,
  MODE_TRANSFER,
  MODE_TRANSFER_CODE,
  NEW_CODE_SHOWN_SECONDS,
  PANEL_ON_SECONDS,
} from "../abi.js";

export type ScreenMode =
  | "off"
  | "not-set-up"
  | "activating"
  | "locked"
  | "clock-lost"
  | "low-battery"
  | "self-test-failed"
  | "storage-error"
  | "erase-confirm"
  | "add-confirm"
  | "replace-confirm"
  | "delete-confirm"
  | "otp"
  | "info"
  | "transfer"
  | "transfer-code"
  | "scan";

export const MODE_NAMES: Record<number, ScreenMode> = {
  [MODE_OFF]: "off",
  [MODE_NOT_SET_UP]: "not-set-up",
  [MODE_ACTIVATING]: "activating",
  [MODE_LOCKED]: "locked",
  [MODE_CLOCK_LOST]: "clock-lost",
  [MODE_LOW_BATTERY]: "low-battery",
  [MODE_SELF_TEST_FAILED]: "self-test-failed",
  [MODE_STORAGE_ERROR]: "storage-error",
  [MODE_ERASE_CONFIRM]: "erase-confirm",
  [MODE_OTP]: "otp",
  [MODE_INFO]: "info",
  [MODE_ADD_CONFIRM]: "add-confirm",
  [MODE_REPLACE_CONFIRM]: "replace-confirm",
  [MODE_DELETE_CONFIRM]: "delete-confirm",
  [MODE_TRANSFER]: "transfer",
  [MODE_TRANSFER_CODE]: "transfer-code",
  [MODE_SCAN]: "scan",
};

/** What the token's display model says is on the panel. */
export interface Screen {
  mode: ScreenMode;
  /** The code as shown (leading zeros kept), on the OTP and transfer-code screens only. */
  code: string | null;
  /** Whole seconds until the code changes (period - 1 .. 0), on the OTP screen only. */
  secondsLeft: number | null;
  period: number | null;
  /** The profile's label (on the OTP and delete-confirm screens). */
  label: string;
  /**
   * The last digits of the profile's Service ID, shown after the label when another profile shares
   * that label; "" otherwise.
   */
  serviceSuffix: string;
  profile: number;
  /** Battery bars, 0-4. */
  battery: number;
  errorCode: number;
}

/**
 * Decodes the display model's bytes: 0 mode, 4 code, 8 digits, 12 seconds left, 16 period, 20 battery
 * level, 24 profile, 28 error code, 32 label length (u32 little-endian each), 36 the label, 48 the
 * Service ID's last digits (zero when not shown).
 */
export function readScreen(model: Uint8Array): Screen {
  const view = new DataView(model.buffer, model.byteOffset, model.byteLength);
  const word = (offset: number) => view.getUint32(offset, true);
  const mode = MODE_NAMES[word(0)] ?? "off";
  const otp = mode === "otp";
  const labelLength = word(32);
  return {
    mode,
    code: otp || mode === "transfer-code" ? String(word(4)).padStart(word(8), "0") : null,
    secondsLeft: otp ? word(12) : null,
    period: otp ? word(16) : null,
    battery: word(20),
    profile: word(24),
    errorCode: word(28),
    label: Buffer.from(model.buffer, model.byteOffset + 36, labelLength).toString("latin1"),
    serviceSuffix: Buffer.from(model.buffer, model.byteOffset + 48, Math.max(0, model.byteLength - 48))
      .toString("latin1")
      .replace(/\0+$/, ""),
  };
}

/** A token a front end drives as its holder would (SimToken, McuToken). */
export interface HeldToken {
  screen(): Screen;
  advance(ms: number): void;
  hold(): void;
}

/**
 * The holder's gesture for scan mode (assembly/device/device.ts, startScan): a hold on the info screen,
 * which a hold on a dark panel (or on a status screen) shows. A code, a transfer or its code on the
 * panel is first left to go dark (time runs on, at most PANEL_ON_SECONDS and the new-code margin): a
 * hold there means something else. Refuses on a screen that waits for a hold (it would answer it).
 * Returns whether the panel says SCAN.
 */
export function scanGesture(token: HeldToken): boolean {
  const mode = () => token.screen().mode;
  if (mode() === "scan") return true;
  if (["erase-confirm", "add-confirm", "replace-confirm", "delete-confirm", "activating"].includes(mode())) {
    throw new Error(`the token shows ${mode()}: a hold would answer it, not start scanning`);
  }
  for (let s = 0; s <= PANEL_ON_SECONDS + NEW_CODE_SHOWN_SECONDS && ["otp", "transfer", "transfer-code"].includes(mode()); s++) {
    token.advance(1000);
  }
  if (mode() !== "info") token.hold();
  if (mode() === "info") token.hold();
  return mode() === "scan";
}
