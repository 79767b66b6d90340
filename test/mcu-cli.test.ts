// otp-token mcu: the code the emulated nRF51822 draws, from the command line (compared with RFC 6238's
// published vector and with oathtool), and its live panel (npm run mcu) driven through tmux.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FLASH_SIZE_BYTES } from "../host/abi.js";
import { DEMO_PROFILE } from "../host/cli/sim.js";
import { otpApi } from "../host/otp.js";
import { commandWorks, requireTool, spawnAsync } from "./helpers.js";
import { MCU_SKIP, MCU_TIMEOUT_MS, oathtool, requireOathtool } from "./mcu-helpers.js";

const HAS_OATHTOOL = requireOathtool();

const CLI = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
const api = otpApi();
// RFC 6238 Appendix B's seeds ("12345678901234567890" repeated to the hash's size).
const RFC_SEED_SHA1 = Buffer.from("12345678901234567890");
const RFC_SEED_SHA512 = Buffer.from("1234567890".repeat(7).slice(0, 64));

/** `otp-token mcu ...` (QEMU) without blocking the worker: helpers.ts spawnAsync says why. */
function mcu(...args: string[]) {
  return spawnAsync(process.execPath, [CLI, "mcu", ...args], { timeout: MCU_TIMEOUT_MS });
}

const lastLine = (text: string) => text.trim().split("\n").at(-1);

describe.skipIf(MCU_SKIP !== undefined)("otp-token mcu code", () => {
  it(
    "prints the panel and, on its last line, RFC 6238's code for T = 59 (SHA-1, 8 digits, its 30 s step)",
    async () => {
      const result = await mcu("code", "--time", "59", "--digits", "8", "--period", "30", "--key", RFC_SEED_SHA1.toString("hex"));
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/┌─+┐/);
      expect(lastLine(result.stdout)).toBe("94287082");
    },
    MCU_TIMEOUT_MS,
  );

  it.runIf(HAS_OATHTOOL)(
    "agrees with oathtool for SHA-512 past 2106 on a 30 s step",
    async () => {
      const time = 20_000_000_000n;
      const result = await mcu(
        "code",
        "--time",
        String(time),
        "--algorithm",
        "SHA512",
        "--digits",
        "8",
        "--period",
        "30",
        "--key",
        RFC_SEED_SHA512.toString("hex"),
      );
      expect(result.status).toBe(0);
      expect(lastLine(result.stdout)).toBe(oathtool("SHA512", RFC_SEED_SHA512, time, 8, 30));
      expect(lastLine(result.stdout)).toBe("47863826"); // RFC 6238 Appendix B
    },
    MCU_TIMEOUT_MS,
  );

  it("refuses bad options with a usage error that says what is accepted", async () => {
    expect(await mcu("code", "--key", "12")).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/--key must be 16-64 bytes, got 1/),
    });
    expect(await mcu("code")).toMatchObject({ status: 2, stderr: expect.stringMatching(/code needs --key HEX/) });
    expect(await mcu("code", "--key", RFC_SEED_SHA1.toString("hex"), "--digits", "9")).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/--digits must be a whole number from 6 to 8/),
    });
    expect(await mcu("flash")).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/unknown mcu subcommand "flash": use code or show/),
    });
  });
});

describe.skipIf(MCU_SKIP !== undefined)("otp-token mcu show", () => {
  it(
    "without a terminal: presses once and prints the demo profile's code for now",
    async () => {
      const before = Math.floor(Date.now() / 1000);
      const result = await mcu("show");
      const after = Math.floor(Date.now() / 1000);
      expect(result.status).toBe(0);
      const codes = new Set([api.totp(DEMO_PROFILE.seed, before), api.totp(DEMO_PROFILE.seed, after)]);
      const shown = /DEMO {2}code (\d{6})/.exec(result.stdout)?.[1];
      expect(codes.has(shown!)).toBe(true);
    },
    MCU_TIMEOUT_MS,
  );

  const hasTmux = requireTool("tmux", commandWorks("tmux", ["-V"]), "the live panel test is skipped");

  it.runIf(hasTmux)(
    "live in a terminal: the code follows a key press; q saves the flash",
    async () => {
      const home = mkdtempSync(join(tmpdir(), "otp-token-mcu-"));
      const flash = join(home, "mcu.flash");
      const session = `otp-mcu-${process.pid}`;
      const tmux = (...args: string[]) => execFileSync("tmux", args, { encoding: "utf8" });
      const waitFor = async (pattern: RegExp, ms = 60_000): Promise<string> => {
        const until = Date.now() + ms;
        for (;;) {
          const text = tmux("capture-pane", "-p", "-t", session);
          if (pattern.test(text)) return text;
          if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; the screen:\n${text}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      };
      try {
        tmux("new-session", "-d", "-s", session, "-x", "140", "-y", "30", process.execPath, CLI, "mcu", "show", "--flash", flash);
        await waitFor(/space: press button A/);
        tmux("send-keys", "-t", session, " ");
        const text = await waitFor(/Pressed button A\./);
        const now = Math.floor(Date.now() / 1000);
        const shown = /DEMO {2}code (\d{6})/.exec(text)?.[1];
        expect([api.totp(DEMO_PROFILE.seed, now - 1), api.totp(DEMO_PROFILE.seed, now)]).toContain(shown);
        expect(text).toMatch(/[▀▄█]/);
        tmux("send-keys", "-t", session, "q");
        // q saves and quits (the tmux session ends with it).
        const until = Date.now() + 60_000;
        while (!(existsSync(flash) && statSync(flash).size === FLASH_SIZE_BYTES) && Date.now() < until)
          await new Promise((resolve) => setTimeout(resolve, 100));
        expect(existsSync(flash) && statSync(flash).size).toBe(FLASH_SIZE_BYTES);
      } finally {
        spawnSync("tmux", ["kill-session", "-t", session]);
        rmSync(home, { recursive: true, force: true });
      }
    },
    MCU_TIMEOUT_MS,
  );
});
