// The token with a transfer: held to the bank's flickering page it shows the payee and the amount a
// screen at a time; a hold signs exactly those bytes, a press refuses (issue 23, step 3). The real
// firmware on the simulated board, release and debug builds; virtual time only.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BUTTON_HOLD,
  SCAN_HZ,
  SCAN_WINDOW_SECONDS,
  STATUS_BAD_TRANSACTION,
  STATUS_DENIED,
  TRANSFER_SCREEN_SECONDS,
  TRANSFER_WINDOW_SECONDS,
} from "../host/abi.js";
import { Board } from "../host/board/board.js";
import { FlickerPage } from "../host/optical/flicker.js";
import { otpApi } from "../host/otp.js";
import { type FirmwareBuild, type HalImports, loadFirmware } from "../host/token/firmware.js";
import { SimToken } from "../host/token/sim-token.js";
import { encodeTransfer, type Transfer, transferCode, transferScreens } from "../host/transaction.js";
import { fromHex } from "./helpers.js";

const SEED = fromHex("3132333435363738393031323334353637383930");
const TRANSFER: Transfer = { bankCode: "0001", branch: "001", account: "1234567", amount: 1_234_567, nonce: fromHex("0011223344556677") };
const api = otpApi("release");

function tokenWithProfile(build: FirmwareBuild): SimToken {
  const token = new SimToken({ build, boardConfig: { randomSeed: 1 } });
  token.addProfile({ seed: SEED, label: "BANK" });
  token.press();
  return token;
}

/** Holds `token` to a page flickering `payload` until it takes a frame (three repetitions at most). */
function holdToPage(token: SimToken, payload: Uint8Array): number {
  const page = new FlickerPage(payload, {}, token.board.clock.now() - 700);
  return token.scanPage((timeMs) => page.lightAt(timeMs), 3 * page.frameMs);
}

describe.each(["release", "debug"] as FirmwareBuild[])("a transfer on the token, %s build", (build) => {
  it("shows the payee, then the amount; a hold signs the bytes it showed; a press puts the code away", () => {
    const token = tokenWithProfile(build);
    const bytes = encodeTransfer(TRANSFER);
    expect(holdToPage(token, bytes)).toBe(bytes.length);
    expect(token.screen().mode).toBe("transfer");
    const first = token.screen().profile;
    token.advance(TRANSFER_SCREEN_SECONDS * 1000);
    expect(token.screen().mode).toBe("transfer");
    expect(token.screen().profile).toBe(1 - first);
    token.hold();
    const screen = token.screen();
    expect(screen.mode).toBe("transfer-code");
    expect(screen.code).toBe(transferCode(SEED, bytes));
    // Not the login code of this moment: another key, another message.
    expect(screen.code).not.toBe(api.totp(SEED, Number(token.rtcSeconds()), { digits: 8 }));
    token.press();
    expect(token.screen().mode).toBe("otp");
    // Signing lent the login key's RAM to the transfer key: the login code is right again.
    expect(token.screen().code).toBe(api.totp(SEED, Number(token.rtcSeconds())));
  });

  it("a press refuses: no code, and the transfer is gone", () => {
    const token = tokenWithProfile(build);
    expect(holdToPage(token, encodeTransfer({ ...TRANSFER, amount: 9_999_999 }))).toBeGreaterThan(0);
    token.press();
    expect(token.screen().mode).toBe("otp");
    expect(token.screen().code).toBe(api.totp(SEED, Number(token.rtcSeconds())));
  });

  it("an unconfirmed transfer expires with its window", () => {
    const token = tokenWithProfile(build);
    expect(holdToPage(token, encodeTransfer(TRANSFER))).toBeGreaterThan(0);
    token.advance((TRANSFER_WINDOW_SECONDS - 1) * 1000);
    expect(token.screen().mode).toBe("transfer");
    token.advance(2000);
    expect(token.screen().mode).not.toBe("transfer");
  });

  it("scanSample, the browser's way: the sensors read a page drawn at 60 frames a second, a few ticks per frame", () => {
    // As web/token-ui.ts does it: at each animation frame the light under the sensors is read once and
    // the frame's 16-17 ms are cut into ticks of the sampling timer (SCAN_HZ), one scan() each.
    const token = tokenWithProfile(build);
    const bytes = encodeTransfer({ ...TRANSFER, name: "ﾔﾏﾀﾞ ﾀﾛｳ" });
    const page = new FlickerPage(bytes, { levelsPerSecond: 30, jitter: 0, noise: 0 }, token.board.clock.now() - 300);
    let light = [0, 0, 0, 0, 0];
    expect(token.startScanning()).toBe(true);
    token.board.light.aim(() => light);
    let taken: { verdict: number; payload?: Uint8Array } | undefined;
    for (let frame = 0; frame < 3 * 60 * (page.frameMs / 1000) && !taken; frame++) {
      light = page.lightAt(token.board.clock.now());
      for (const slice of [4, 4, 4, 5]) {
        token.advance(slice);
        const result = token.scanSample();
        if (result.payload) {
          taken = result;
          break;
        }
      }
    }
    token.board.light.aim(undefined);
    expect(taken?.verdict).toBe(bytes.length);
    expect(taken?.payload).toEqual(bytes);
    expect(token.screen().mode).toBe("transfer");
    token.hold();
    expect(token.screen()).toMatchObject({ mode: "transfer-code", code: transferCode(SEED, bytes) });
  });

  it("refuses a sound frame that is not a transfer, and a transfer without a profile to sign it", () => {
    const token = tokenWithProfile(build);
    const notTransfer = encodeTransfer(TRANSFER);
    notTransfer[15] = 0xff; // an amount above 999,999,999,999
    expect(holdToPage(token, notTransfer)).toBe(STATUS_BAD_TRANSACTION);
    expect(token.screen().mode).toBe("otp");
    const empty = new SimToken({ build, boardConfig: { randomSeed: 1 } });
    expect(holdToPage(empty, encodeTransfer(TRANSFER))).toBe(STATUS_DENIED);
  });
});

// The account name in half-width katakana (JIS X 0201), drawn with the glyphs of
// assembly/display/name-font.txt: every character of a name reads back from the panel's pixels.
type NameFontScript = {
  generate: () => string;
  readNameFont: () => { code: number; char: string; rows: string[] }[];
  OUT: string;
};
const nameFontScript = (await import(new URL("../scripts/gen-name-font.js", import.meta.url).href)) as NameFontScript;
const NAME_FONT = nameFontScript.readNameFont();
const QUESTION_MARK = [".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."];
const NAME_LINE_CHARS = 21;
/** JIS X 0201 byte -> Unicode (half-width katakana U+FF61-U+FF9F), as host/transaction.ts maps it. */
const unicode = (code: number): string => String.fromCodePoint(code >= 0xa1 ? code - 0xa1 + 0xff61 : code);

/** The 7 rows of the 5x7 cell whose top left is (x, y), as '#'/'.' strings (SSD1306 page layout). */
function cell(fb: Uint8Array, x: number, y: number): string[] {
  const rows: string[] = [];
  for (let row = 0; row < 7; row++) {
    let text = "";
    for (let column = 0; column < 5; column++) text += (fb[((y + row) >> 3) * 128 + x + column] >> ((y + row) & 7)) & 1 ? "#" : ".";
    rows.push(text);
  }
  return rows;
}

/** The glyph rows the panel should show for a name character (a space is blank). */
function expectedGlyph(char: string): string[] {
  if (char === " ") return Array(7).fill(".....");
  const glyph = NAME_FONT.find((g) => g.char === char);
  if (!glyph) throw new Error(`no glyph for ${char} in name-font.txt`);
  return glyph.rows;
}

/** Reads a centred line of `length` characters at top y: each cell's rows. */
function line(fb: Uint8Array, y: number, length: number): string[][] {
  const x0 = (128 - (length * 6 - 1)) >> 1;
  return Array.from({ length }, (_, i) => cell(fb, x0 + 6 * i, y));
}

describe("the name font", () => {
  it("holds ( ) and every half-width katakana 0xA1-0xDF, each glyph distinct and none the '?' of a missing one", () => {
    const codes = NAME_FONT.map((g) => g.code);
    expect(codes).toEqual([0x28, 0x29, ...Array.from({ length: 0xdf - 0xa1 + 1 }, (_, i) => 0xa1 + i)]);
    expect(NAME_FONT.map((g) => g.char)).toEqual(codes.map(unicode));
    const pictures = new Set(NAME_FONT.map((g) => g.rows.join("/")));
    expect(pictures.size).toBe(NAME_FONT.length);
    expect(pictures.has(QUESTION_MARK.join("/"))).toBe(false);
    expect(NAME_FONT.every((g) => g.rows.join("").includes("#"))).toBe(true);
  });

  it("assembly/display/name-font.ts is what scripts/gen-name-font.js makes of name-font.txt", () => {
    expect(readFileSync(new URL(`../${nameFontScript.OUT}`, import.meta.url), "utf8")).toBe(nameFontScript.generate());
  });
});

describe.each(["release", "debug"] as FirmwareBuild[])("a transfer with an account name in kana, %s build", (build) => {
  it("shows the payee, the name in kana glyphs, the amount, in turn, and signs the bytes it showed", () => {
    const token = tokenWithProfile(build);
    const name = "ﾔﾏﾀﾞ ﾀﾛｳ";
    const bytes = encodeTransfer({ ...TRANSFER, name });
    expect(holdToPage(token, bytes)).toBe(bytes.length);
    // The screen that shows at arrival is 0 (the payee): step to the name screen.
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push(token.screen().profile);
      if (token.screen().profile === 1) {
        const cells = line(token.framebuffer(), 10, [...name].length);
        expect(cells).toEqual([...name].map(expectedGlyph));
        // Not the placeholder: the dakuten and the kana are drawn, not "?".
        expect(cells.some((rows) => rows.join("/") === QUESTION_MARK.join("/"))).toBe(false);
      }
      token.advance(TRANSFER_SCREEN_SECONDS * 1000);
    }
    // Three screens in turn (payee, name, amount), as transferScreens lists them.
    expect(transferScreens(bytes)).toHaveLength(3);
    expect(new Set(seen)).toEqual(new Set([0, 1, 2]));
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBe((seen[i - 1] + 1) % 3);
    token.hold();
    expect(token.screen().code).toBe(transferCode(SEED, bytes));
  });

  it("every kana and ( ) read back from the pixels; a name longer than a line takes two", () => {
    const token = tokenWithProfile(build);
    const chars = NAME_FONT.map((g) => g.char);
    for (let start = 0; start < chars.length; start += 30) {
      const name = chars.slice(start, start + 30).join("");
      const length = [...name].length;
      const bytes = encodeTransfer({ ...TRANSFER, name, nonce: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, start) });
      expect(holdToPage(token, bytes)).toBe(bytes.length);
      while (token.screen().profile !== 1) token.advance(1000);
      const fb = token.framebuffer();
      const expected = [...name].map(expectedGlyph);
      if (length <= NAME_LINE_CHARS) expect(line(fb, 10, length)).toEqual(expected);
      else {
        expect(line(fb, 8, NAME_LINE_CHARS)).toEqual(expected.slice(0, NAME_LINE_CHARS));
        expect(line(fb, 16, length - NAME_LINE_CHARS)).toEqual(expected.slice(NAME_LINE_CHARS));
      }
      token.press(); // refuse: the next transfer may come
      expect(token.screen().mode).toBe("otp");
    }
  });
});

// The transfer screens' prompt: FONT_SMALL has '=' (before the '?' every missing glyph draws).
const EQUALS = [".....", ".....", "#####", ".....", "#####", ".....", "....."];

describe.each(["release", "debug"] as FirmwareBuild[])("the transfer prompt, %s build", (build) => {
  it("HOLD=SIGN PRESS=NO draws its '=' glyphs and no '?'", () => {
    const token = tokenWithProfile(build);
    expect(holdToPage(token, encodeTransfer(TRANSFER))).toBeGreaterThan(0);
    const prompt = "HOLD=SIGN PRESS=NO";
    const cells = line(token.framebuffer(), 24, prompt.length);
    expect(cells.some((rows) => rows.join("/") === QUESTION_MARK.join("/"))).toBe(false);
    [...prompt].forEach((char, i) => {
      if (char === "=") expect(cells[i]).toEqual(EQUALS);
      else if (char !== " ") expect(cells[i].join("")).toContain("#");
    });
  });
});

// Scan mode (assembly/device/device.ts, startScan): the holder starts it on the token, a hold on the
// info screen (a hold on a dark panel shows it); the firmware powers the sensors and the board's
// sampling timer through lightPower, and turns them off on a frame, a press or SCAN_WINDOW_SECONDS.
describe.each(["release", "debug"] as FirmwareBuild[])("scan mode, %s build", (build) => {
  /** The token with a profile and its panel dark. */
  function darkToken(): SimToken {
    const token = tokenWithProfile(build);
    while (token.screen().mode !== "off") token.advance(1000);
    return token;
  }

  it("hold, hold from a dark panel: the info screen, then SCAN with the sensors powered", () => {
    const token = darkToken();
    expect(token.scanning).toBe(false);
    token.hold();
    expect(token.screen().mode).toBe("info");
    expect(token.scanning).toBe(false);
    token.hold();
    expect(token.screen().mode).toBe("scan");
    expect(token.scanning).toBe(true);
    expect(token.board.light.powerUps).toBe(1);
    // A hold while scanning changes nothing; a press stops it and the code returns, sensors off.
    token.hold();
    expect(token.screen().mode).toBe("scan");
    token.press();
    expect(token.scanning).toBe(false);
    expect(token.screen().mode).toBe("otp");
  });

  it("a hold on a code still asks to delete it (the grammar keeps its meaning): no scanning", () => {
    const token = tokenWithProfile(build);
    token.hold();
    expect(token.screen().mode).toBe("delete-confirm");
    expect(token.scanning).toBe(false);
    token.press();
    expect(token.screen().mode).toBe("otp");
  });

  it("a frame is decoded only in scan mode: the firmware's scan() reads nothing outside it", () => {
    const board = new Board({ randomSeed: 1 });
    let reads = 0;
    const firmware = loadFirmware(build, (memory) => {
      const hal = board.halImports(memory);
      return {
        ...hal,
        lightSensors: () => {
          reads++;
          return hal.lightSensors();
        },
      } as unknown as HalImports;
    });
    firmware.boot();
    const bytes = encodeTransfer(TRANSFER);
    const page = new FlickerPage(bytes, {}, board.clock.now());
    board.light.aim((timeMs) => page.lightAt(timeMs));
    // Sensors forced on and sampled as in scan mode, but the firmware is not in it: nothing decoded.
    board.light.power(true);
    let verdicts = new Set<number>();
    for (let n = 0; n < 3 * page.frameMs * (SCAN_HZ / 1000); n++) {
      board.clock.advance(4);
      verdicts.add(firmware.scan());
    }
    expect([...verdicts]).toEqual([0]);
    expect(reads).toBe(0);
    // The holder's gesture: now the same page is read.
    board.light.power(false);
    firmware.button(BUTTON_HOLD);
    firmware.button(BUTTON_HOLD);
    expect(board.light.powered).toBe(true);
    verdicts = new Set<number>();
    for (let n = 0; n < 3 * page.frameMs * (SCAN_HZ / 1000) && board.light.powered; n++) {
      board.clock.advance(4);
      verdicts.add(firmware.scan());
    }
    expect(reads).toBeGreaterThan(0);
    // No profile on this token: the sound frame is refused, and it ends scan mode all the same.
    expect(verdicts.has(STATUS_DENIED)).toBe(true);
    expect(board.light.powered).toBe(false);
  });

  it("SCAN_WINDOW_SECONDS without a frame: back to a dark panel, the sensors off, nothing read after", () => {
    const token = darkToken();
    expect(token.startScanning()).toBe(true);
    token.advance((SCAN_WINDOW_SECONDS - 2) * 1000);
    expect(token.screen().mode).toBe("scan");
    expect(token.scanning).toBe(true);
    token.advance(3000);
    expect(token.scanning).toBe(false);
    expect(token.screen().mode).toBe("off");
    const page = new FlickerPage(encodeTransfer(TRANSFER), {}, token.board.clock.now());
    token.board.light.aim((timeMs) => page.lightAt(timeMs));
    for (let n = 0; n < 3 * page.frameMs * (SCAN_HZ / 1000); n++) {
      token.advance(4);
      expect(token.scanSample().verdict).toBe(0);
    }
    expect(token.screen().mode).toBe("off");
  });

  it("a frame taken ends scan mode: the transfer shows, the sensors are off", () => {
    const token = darkToken();
    const bytes = encodeTransfer(TRANSFER);
    expect(holdToPage(token, bytes)).toBe(bytes.length);
    expect(token.scanning).toBe(false);
    expect(token.board.light.powerUps).toBe(1);
    expect(token.screen().mode).toBe("transfer");
  });
});
