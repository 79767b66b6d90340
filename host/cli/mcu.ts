// otp-token mcu: the firmware (build/token.wasm through wasm2c) on an emulated nRF51822 in QEMU
// (host/mcu/mcu-token.ts): one code from the command line, or the live panel (npm run mcu).
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { FLASH_SIZE_BYTES, MAX_SEED, MIN_SEED } from "../abi.js";
import { McuError, McuToken } from "../mcu/mcu-token.js";
import { qemuMissing } from "../mcu/qemu.js";
import { algorithmName } from "../otp.js";
import { LinkError } from "../token/link.js";
import { DEMO_PROFILE, describeScreen } from "./sim.js";
import { bigOption, integerOption, type Io, parse, UsageError } from "../usage.js";

export const MCU_HELP = `Usage: otp-token mcu <subcommand> [options]

The token's firmware (build/token.wasm, translated to C by wasm2c) on an emulated nRF51822
(Cortex-M0, 16 KiB RAM) in QEMU's microbit machine. Needs qemu-system-arm and the images
npm run build makes in build/mcu/ (with wabt and gcc-arm-none-eabi installed).

Subcommands:
  code   boot the token with its clock at --time, program the profile over its link, press
         button A and print its panel; the code alone on the last line
  show   the token's panel live in the terminal, on real time (npm run mcu):
         space presses button A, h holds it 2.5 s, f fast-forwards 30 s, q quits

Options:
  --key HEX             (code) the profile's seed in hex, ${MIN_SEED}-${MAX_SEED} bytes
  --time UNIX_SECONDS   (code) the token's clock at power-on (default: now)
  --algorithm A         (code) SHA1 (default), SHA256 or SHA512
  --digits N            (code) 6 (default), 7 or 8
  --period S            (code) TOTP step in seconds, 1-86400 (default 60)
  --flash PATH          (show) keep the token's flash in this file (${FLASH_SIZE_BYTES} bytes); without
                        it a new token gets the demo profile (RFC 6238's public test seed)
  -h, --help            this help

Exit status: 0 on success, 1 when the emulated token failed or refused, 2 on a usage error.
`;

export async function mcuCommand(args: string[], io: Io): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, {
    key: { type: "string" },
    time: { type: "string" },
    algorithm: { type: "string" },
    digits: { type: "string" },
    period: { type: "string" },
    flash: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (sub === undefined || sub === "help" || sub === "--help" || sub === "-h" || values.help) {
    io.out(MCU_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  if (sub !== "code" && sub !== "show") throw new UsageError(`unknown mcu subcommand ${JSON.stringify(sub)}: use code or show`);
  const missing = qemuMissing();
  if (missing) {
    io.err(`otp-token mcu: ${missing}\n`);
    return 1;
  }
  try {
    return sub === "code" ? code(values, io) : await show(values.flash, io);
  } catch (error) {
    if (error instanceof McuError || error instanceof LinkError) {
      io.err(`otp-token mcu ${sub}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

function code(values: Record<string, string | boolean | undefined>, io: Io): number {
  const keyText = values.key;
  if (typeof keyText !== "string") throw new UsageError("code needs --key HEX (the profile's seed)");
  const hex = keyText.replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})+$/.test(hex)) throw new UsageError("--key must be hex (an even number of 0-9 a-f)");
  const seed = new Uint8Array(Buffer.from(hex, "hex"));
  if (seed.length < MIN_SEED || seed.length > MAX_SEED)
    throw new UsageError(`--key must be ${MIN_SEED}-${MAX_SEED} bytes, got ${seed.length}`);
  let algorithm: string;
  try {
    algorithm = algorithmName(typeof values.algorithm === "string" ? values.algorithm : "SHA1");
  } catch (error) {
    throw new UsageError(`--algorithm: ${(error as Error).message}`);
  }
  const digits = integerOption(values.digits as string | undefined, "digits", 6, 8, 6);
  const period = integerOption(values.period as string | undefined, "period", 1, 86400, 60);
  const time = bigOption(values.time as string | undefined, "time") ?? BigInt(io.now());
  if (time >= 1n << 63n) throw new UsageError("--time must be below 2^63 (the token's clock is a signed 64-bit count of seconds)");
  const token = new McuToken({ startSeconds: time });
  try {
    token.addProfile({ seed, algorithm, digits, period, label: "MCU" });
    token.press();
    const screen = token.screen();
    io.out(`${token.render()}\n${describeScreen(screen)}\n`);
    if (screen.mode !== "otp" || screen.code === null) {
      io.err(`otp-token mcu code: the token shows ${screen.mode}, not a code\n`);
      return 1;
    }
    io.out(`${screen.code}\n`);
    return 0;
  } finally {
    token.close();
  }
}

/** The live panel: the emulated token on real time, its framebuffer redrawn ten times a second. */
async function show(flashPath: string | boolean | undefined, io: Io): Promise<number> {
  const path = typeof flashPath === "string" ? resolve(flashPath) : undefined;
  let image: Uint8Array | undefined;
  if (path && existsSync(path)) {
    image = new Uint8Array(readFileSync(path));
    if (image.length !== FLASH_SIZE_BYTES)
      throw new UsageError(`${path} is ${image.length} bytes, not a ${FLASH_SIZE_BYTES}-byte token flash image`);
  }
  const token = new McuToken({ startSeconds: io.now(), flashImage: image });
  try {
    if (token.profiles().length === 0) token.addProfile(DEMO_PROFILE);
    // Write then rename: a crash never leaves a torn image.
    const save = () => {
      if (!path) return;
      writeFileSync(`${path}.tmp`, token.flashImage());
      renameSync(`${path}.tmp`, path);
    };
    const frame = (message: string) => `${token.render()}\n${describeScreen(token.screen())}\n${message}\n`;
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      // Without a terminal: one press, the panel, and out.
      token.press();
      io.out(frame("Pressed button A on the emulated nRF51822."));
      save();
      return 0;
    }
    return await new Promise<number>((done) => {
      let message = "space: press button A   h: hold it   f: +30 s   q: quit";
      let lastWall = Date.now();
      const draw = () => process.stdout.write(`\x1b[H\x1b[2J${frame(message)}`);
      process.stdin.setRawMode(true);
      process.stdin.resume();
      const timer = setInterval(() => {
        const now = Date.now();
        token.advance(now - lastWall);
        lastWall = now;
        draw();
      }, 100);
      const quit = () => {
        clearInterval(timer);
        process.stdin.setRawMode(false);
        process.stdin.pause();
        save();
        process.stdout.write(path ? `\nSaved ${path}\n` : "\n");
        done(0);
      };
      process.stdin.on("data", (data: Buffer) => {
        const key = data.toString();
        if (key === "q" || key === "\u0003") return quit();
        if (key === " " || key === "\r" || key === "p") {
          token.press();
          message = "Pressed button A.";
        } else if (key === "h") {
          token.hold(2500);
          message = "Held button A for 2.5 s.";
        } else if (key === "f") {
          token.advance(30_000);
          message = "Fast-forwarded 30 s.";
        }
        draw();
      });
      draw();
    });
  } finally {
    token.close();
  }
}
