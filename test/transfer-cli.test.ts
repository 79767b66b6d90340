// otp-token token transfer: chipTAN-style manual entry of a transfer frame at the command line (issue
// 23, step 6). The token on its flash file takes the typed frame through its own sensors and decoder,
// shows payee and amount, and signs on a hold: its code is the one the bank computes. The terminal
// simulator takes the same text (key t).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Terminal } from "../host/cli/prompt.js";
import { composeFrame, describeScreen, enterFrameText } from "../host/cli/sim.js";
import { SimToken } from "../host/token/sim-token.js";
import { makeTokenCommand } from "../host/cli/token.js";
import { frameText, parseFrameText } from "../host/optical/frame.js";
import { openTokenFile, saveTokenFile } from "../host/token/flash-file.js";
import { decodeTransfer, encodeTransfer, transferCode } from "../host/transaction.js";
import type { Io } from "../host/usage.js";
import { fromHex } from "./helpers.js";

const work = mkdtempSync(join(tmpdir(), "otp-token-transfer-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const SEED = fromHex("3132333435363738393031323334353637383930");
const BYTES = encodeTransfer({
  bankCode: "0005",
  branch: "123",
  account: "7654321",
  amount: 50_000,
  nonce: fromHex("a1a2a3a4a5a6a7a8"),
  name: "ｶ)ﾃｽﾄ",
});

function tokenFile(name: string): string {
  const path = join(work, name);
  const { token } = openTokenFile(path);
  token.addProfile({ seed: SEED, label: "BANK" });
  saveTokenFile(token, path);
  return path;
}

async function run(args: string[], answers: string[] = []) {
  let out = "";
  let err = "";
  const asked: string[] = [];
  const terminal: Terminal = {
    isTTY: true,
    readAll: () => "",
    readSecret: async () => "",
    ask: async (prompt) => {
      asked.push(prompt);
      return answers.shift() ?? "";
    },
  };
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    now: () => Math.floor(Date.now() / 1000),
  };
  const status = await makeTokenCommand(terminal)(["transfer", ...args], io);
  return { status, out, err, asked };
}

describe("otp-token token transfer (manual frame entry)", () => {
  it("shows payee, name and amount, and on a hold prints the code the bank computes", async () => {
    const flash = tokenFile("sign.flash");
    const result = await run([...frameText(BYTES).split(" "), "--flash", flash], ["y"]);
    expect(result.status, result.err).toBe(0);
    expect(result.out).toContain("TO 0005-123 7654321\nｶ)ﾃｽﾄ\nJPY 50,000\n");
    expect(result.asked).toEqual(["Hold button A to sign? [y/N] "]);
    expect(result.out).toContain(`transfer code ${transferCode(SEED, BYTES)}\n`);
  });

  it("anything but yes refuses: nothing is signed", async () => {
    const result = await run([frameText(BYTES), "--flash", tokenFile("refuse.flash")], ["n"]);
    expect(result.status).toBe(1);
    expect(result.out).toContain("refused: nothing was signed");
    expect(result.out).not.toContain("transfer code");
  });

  it("a mistyped frame is refused with what was wrong; a token without a profile cannot sign", async () => {
    const text = frameText(BYTES);
    const typo = `${text.slice(0, -1)}${text.endsWith("0") ? "1" : "0"}`;
    const mistyped = await run([typo, "--flash", tokenFile("typo.flash"), "--yes"]);
    expect(mistyped.status).toBe(1);
    expect(mistyped.err).toMatch(/CRC-32\) does not match: a character was mistyped/);
    const empty = await run([text, "--flash", join(work, "empty.flash"), "--yes"]);
    expect(empty.status).toBe(1);
    expect(empty.err).toMatch(/cannot sign now/);
  });

  it("the README's example frame is the transfer its comment describes", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const line = /npx otp-token token transfer ([0-9A-F ]+)\n/.exec(readme);
    expect(line).not.toBeNull();
    expect(decodeTransfer(parseFrameText(line?.[1] ?? ""))).toEqual({
      bankCode: "0001",
      branch: "001",
      account: "1234567",
      amount: 1_234_567,
      nonce: fromHex("0011223344556677"),
    });
  });
});

describe.each(["release", "debug"] as const)(
  "otp-token sim: t, the transfer frame typed into the terminal simulator, %s build",
  (build) => {
    it("the typed frame goes through the token's sensors and decoder: it shows payee, name and amount; h signs, space refuses", () => {
      const token = new SimToken({ build, boardConfig: { randomSeed: 1 } });
      token.addProfile({ seed: SEED, label: "BANK" });
      token.press();
      const message = enterFrameText(token, frameText(BYTES).toLowerCase(), "ja");
      expect(message).toContain("TO 0005-123 7654321  ｶ)ﾃｽﾄ  JPY 50,000");
      expect(message).toContain("ボタンAを長押し");
      expect(token.screen().mode).toBe("transfer");
      token.hold();
      expect(token.screen()).toMatchObject({ mode: "transfer-code", code: transferCode(SEED, BYTES) });
      expect(describeScreen(token.screen(), "en")).toBe(`the transfer's code (type it into the bank's page): ${transferCode(SEED, BYTES)}`);
      token.press();
      // Another frame, refused with a press: no code.
      expect(enterFrameText(token, frameText(BYTES), "en")).toContain("JPY 50,000");
      token.press();
      expect(token.screen().mode).not.toBe("transfer");
      expect(token.screen().mode).not.toBe("transfer-code");
    });

    it("a mistyped frame and a token that cannot sign are said, and the token shows nothing new; the key line shows what is typed", () => {
      const token = new SimToken({ build, boardConfig: { randomSeed: 2 } });
      token.addProfile({ seed: SEED, label: "BANK" });
      token.press();
      const text = frameText(BYTES);
      expect(enterFrameText(token, `${text.slice(0, -1)}${text.endsWith("0") ? "1" : "0"}`, "en")).toMatch(/^Not a frame: .*CRC-32/);
      expect(token.screen().mode).not.toBe("transfer");
      const empty = new SimToken({ build, boardConfig: { randomSeed: 3 } });
      expect(enterFrameText(empty, text, "en")).toMatch(/^The token refused: /);
      const lines = composeFrame({ header: [], token, frameInput: "A5", message: "", lang: "en" }, 80);
      expect(lines.some((line) => line.includes("transfer frame [ A5 ]"))).toBe(true);
    });
  },
);
