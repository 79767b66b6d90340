// The otp-token command line: codes, help, usage errors (stderr, exit status 2).
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { decodeBase32, encodeBase32 } from "../host/base32.js";
import { main } from "../host/cli.js";
import type { Io } from "../host/usage.js";
import { commandWorks, pattern, requireTool } from "./helpers.js";

const RFC_KEY_HEX = "3132333435363738393031323334353637383930";
const HAS_OATHTOOL = requireTool(
  "oathtool",
  commandWorks("oathtool", ["--version"]),
  "base32 lengths are checked against the recorded table only, not against oathtool run live",
);

async function run(args: string[], now = 59): Promise<{ status: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    now: () => now,
  };
  const status = await main(args, io);
  return { status, out, err };
}

describe("otp-token code", () => {
  it("prints TOTP codes with a 60 s default step, and the following steps with --window", async () => {
    const { status, out } = await run(["code", "--digits", "8", "--time", "1111111109", "--period", "30", "--window", "1", RFC_KEY_HEX]);
    expect(status).toBe(0);
    expect(out).toBe("07081804\n14050471\n");
    expect((await run(["code", RFC_KEY_HEX], 119)).out).toBe((await run(["code", "--time", "60", RFC_KEY_HEX])).out);
  });

  it("prints HOTP codes from a base32 key, and 64-bit counters", async () => {
    const base32 = encodeBase32(Buffer.from(RFC_KEY_HEX, "hex"));
    expect(base32).toBe("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    const { out } = await run(["code", "--hotp", "--base32", base32.toLowerCase(), "--counter", "3", "--window", "2"]);
    expect(out).toBe("969429\n338314\n254676\n");
    expect((await run(["code", "--hotp", "--counter", "18446744073709551615", RFC_KEY_HEX])).out).toMatch(/^\d{6}\n$/);
  });

  it.each([
    [["code"], /KEY is missing/],
    [["code", "--digits", "9", RFC_KEY_HEX], /--digits must be a whole number from 6 to 8, got "9"/],
    [["code", "--digits", "six", RFC_KEY_HEX], /--digits must be/],
    [["code", "--period", "0", RFC_KEY_HEX], /--period must be a whole number from 1 to 86400/],
    [["code", "--time", "-5", RFC_KEY_HEX], /--time/],
    [["code", "--time", "12.5", RFC_KEY_HEX], /--time must be a whole number/],
    [["code", "--algorithm", "md5", RFC_KEY_HEX], /unknown algorithm "md5": use SHA1, SHA256 or SHA512/],
    [["code", "--counter", "5", RFC_KEY_HEX], /--counter is for HOTP/],
    [["code", "--hotp", "--time", "5", RFC_KEY_HEX], /--time and --period are for TOTP/],
    [["code", "xyz"], /KEY must be hex/],
    [["code", "--base32", "ABC1"], /base32 key has "1" at position 4/],
    [["code", "--base32", "ABC"], /a base32 key of 3 characters is not whole bytes/],
    [["code", "--base32", "ABCDEFGH="], /1 '=' of padding where none belongs/],
    [["code", "otpauth://totp/x?digits=6"], /no secret= parameter/],
    [["code", "otpauth://push/x?secret=ABCD"], /type must be totp or hotp/],
    [["code", "otpauth://hotp/x?secret=ABCD"], /needs its counter= parameter/],
    [["code", "otpauth://totp/x?secret=ABCD&digits=9"], /--digits must be a whole number from 6 to 8, got "9"/],
    [["code", "--nope", RFC_KEY_HEX], /Unknown option '--nope'/],
    [["frobnicate"], /unknown command "frobnicate"/],
  ])("usage error %j", async (args, message) => {
    const { status, out, err } = await run(args as string[]);
    expect(status).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(message);
    expect(err).toMatch(/--help' for usage/);
    // One format everywhere: "otp-token <command>: message [code]".
    expect(err.split("\n")[0]).toMatch(/^otp-token( code)?: .+ \[usage\]$/);
  });

  it("judges base32 lengths as oathtool does: whole last groups of 2, 4, 5, 7 or 8 characters, padding optional", async () => {
    const cases = [
      "A",
      "AB",
      "ABC",
      "ABCD",
      "ABCDE",
      "ABCDEF",
      "ABCDEFG",
      "ABCDEFGH",
      "ABCDEFGHI",
      "ABCDEFGHIJ",
      "ABCD=",
      "ABCD====",
      "ABCD=====",
      "ABCDEFG=",
      "ABCDEFGH=",
      "GEZD GNBV",
    ];
    // oathtool 2.6.7 (oathtool --totp -s 60 -N @59 --base32 KEY): which keys it refuses.
    const refusedByOathtool = new Set(["A", "ABC", "ABCDEF", "ABCDEFGHI", "ABCD=====", "ABCDEFGH="]);
    for (const key of cases) {
      const ours = await run(["code", "--time", "59", "--base32", key]);
      expect(ours.status === 2, key).toBe(refusedByOathtool.has(key));
      if (!HAS_OATHTOOL) continue;
      const theirs = spawnSync("oathtool", ["--totp", "-s", "60", "-N", "@59", "--base32", key], { encoding: "utf8" });
      expect(ours.status === 0, `${key}: oathtool says ${theirs.stdout}${theirs.stderr}`).toBe(theirs.status === 0);
      if (theirs.status === 0) expect(ours.out, key).toBe(theirs.stdout);
    }
  });

  it("takes an otpauth:// URI (Key Uri Format) as KEY; options on the command line win", async () => {
    const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    expect((await run(["code", "--time", "59", `otpauth://totp/Bank:taro?secret=${secret}&period=30&digits=8&issuer=Bank`])).out).toBe(
      "94287082\n",
    );
    expect((await run(["code", "--time", "59", "--digits", "6", `otpauth://totp/Bank:taro?secret=${secret}&period=30&digits=8`])).out).toBe(
      "287082\n",
    );
    expect((await run(["code", `otpauth://hotp/x?secret=${secret}&counter=3`, "--window", "1"])).out).toBe("969429\n338314\n");
    const sha256 = await run(["code", "--time", "59", `otpauth://totp/x?secret=${secret}&algorithm=SHA256&period=30&digits=8`]);
    expect(sha256.out).toBe(
      `${(await run(["code", "--time", "59", "--algorithm", "SHA256", "--period", "30", "--digits", "8", "--base32", secret])).out}`,
    );
  });

  it("with no arguments shows the help and exits 0; 'help <command>' is that command's --help", async () => {
    const none = await run([]);
    expect(none.status).toBe(0);
    expect(none.out).toContain("Usage: otp-token <command>");
    expect((await run(["help", "code"])).out).toBe((await run(["code", "--help"])).out);
    expect((await run(["help", "token"])).out).toContain("Usage: otp-token token");
  });

  it.each([
    ["code"],
    ["demo"],
    ["sim"],
    ["serve"],
    ["token"],
    ["token", "activate"],
    ["token", "show"],
    ["token", "info"],
    ["token", "erase"],
    ["bank"],
    ["bank", "issue"],
  ])("--help works on %j", async (...command) => {
    const result = await run([...command, "--help"]);
    expect(result.status).toBe(0);
    expect(result.err).toBe("");
    expect(result.out).toMatch(new RegExp(`^Usage: otp-token ${command.join(" ")}`));
  });

  it("--help documents every option", async () => {
    const { status, out } = await run(["code", "--help"]);
    expect(status).toBe(0);
    for (const option of ["--hotp", "--algorithm", "--digits", "--period", "--time", "--counter", "--window", "--base32"])
      expect(out).toContain(option);
    expect((await run(["help"])).out).toContain("code");
  });

  it("the installed binary exits 2 on a usage error and prints codes otherwise", () => {
    const cli = fileURLToPath(new URL("../dist/host/cli.js", import.meta.url));
    const bad = spawnSync(process.execPath, [cli, "code", "--digits", "5", RFC_KEY_HEX], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    // The subcommand's bundle has its own copy of UsageError (scripts/build-cli.js): still a usage error.
    expect(bad.stderr).toMatch(/^otp-token code: --digits must be .* \[usage\]\nRun 'otp-token code --help' for usage\.\n$/);
    const good = execFileSync(process.execPath, [cli, "code", "--time", "59", "--digits", "8", RFC_KEY_HEX], { encoding: "utf8" });
    expect(good).toBe("84755224\n");
    // And from a subcommand in the shared chunks.
    const bank = spawnSync(process.execPath, [cli, "bank", "status", "--no-such-flag"], { encoding: "utf8" });
    expect(bank.status).toBe(2);
    expect(bank.stderr).toMatch(/\[usage\]\nRun 'otp-token bank( status)? --help' for usage\.\n$/);
  });

  it("the installed `otp-token code` loads two of the package's modules: dist/host/cli.js and dist/cli/code.js", () => {
    // Each ES module costs node 1-4 ms at start-up (npm run bench: bench/startup.ts); code.js is one self-contained bundle.
    for (const file of ["../dist/host/cli.js", "../dist/cli/code.js"]) {
      const text = readFileSync(fileURLToPath(new URL(file, import.meta.url)), "utf8");
      const imports = [...text.matchAll(/^import\s[^;]*?from\s+"([^"]+)"|^import\s+"([^"]+)"/gms)].map((m) => m[1] ?? m[2]);
      expect(imports.length, file).toBeGreaterThan(0);
      expect(
        imports.filter((name) => !name.startsWith("node:")),
        file,
      ).toEqual([]);
    }
    const cli = readFileSync(fileURLToPath(new URL("../dist/host/cli.js", import.meta.url)), "utf8");
    expect([...cli.matchAll(/import\("([^"]+)"\)/g)].map((m) => m[1])).toContain("../cli/code.js");
  });
});

describe("base32", () => {
  it("round-trips every length 0-70 and ignores case, spaces and padding", () => {
    for (let length = 0; length <= 70; length++) {
      const bytes = pattern(length, 9);
      const text = encodeBase32(bytes);
      expect(decodeBase32(text)).toEqual(bytes);
      expect(decodeBase32(` ${text.toLowerCase()}${"=".repeat((8 - (text.length % 8)) % 8)}`)).toEqual(bytes);
    }
    // RFC 4648 §10 test vectors.
    expect(Buffer.from(decodeBase32("MZXW6YTBOI======")).toString()).toBe("foobar");
    expect(encodeBase32(Buffer.from("fooba"))).toBe("MZXW6YTB");
  });
});
