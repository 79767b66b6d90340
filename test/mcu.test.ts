// The unmodified firmware (build/token.wasm, and token.debug.wasm) translated by wasm2c and running
// on an emulated nRF51822 (Cortex-M0, 16 KiB RAM) in QEMU's `microbit` machine: it boots through its
// self-test, shows the codes oathtool computes, keeps its profile across an emulator restart, is
// activated by the bank, and no link frame faults it or gets a seed byte out of it.
//
// One QEMU per firmware build serves the whole file (boots are slow on a busy box); the tests run in
// order and each leaves the token as the next expects.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LINK_ADD_PROFILE, LINK_INFO, MAX_PROFILES, STATUS_OK } from "../host/abi.js";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { openStore } from "../host/bank/open-store.js";
import { McuError, McuToken, type McuImage } from "../host/mcu/mcu-token.js";
import { FAULT_TRAP } from "../host/mcu/protocol.js";
import { LinkError } from "../host/token/link.js";
import { pattern } from "./helpers.js";
import { MCU_SKIP, MCU_TIMEOUT_MS, oathtool, requireOathtool } from "./mcu-helpers.js";
import { seedOf, START_SECONDS } from "./token-helpers.js";

const HAS_OATHTOOL = requireOathtool();

const ALGORITHMS = ["SHA1", "SHA256", "SHA512"] as const;
const SEED_LENGTH = { SHA1: 20, SHA256: 32, SHA512: 64 } as const;
const PASSWORD = "Pass1234";

/** A link frame straight to the firmware, bypassing TokenLink's checks: the response, or [] after a fault. */
function raw(token: McuToken, frame: Uint8Array): Uint8Array {
  return (token as unknown as { transact(f: Uint8Array): Uint8Array }).transact(frame);
}

/** True if `bytes` holds any 4 consecutive bytes of `seed`. */
function containsSeedPart(bytes: Uint8Array, seed: Uint8Array): boolean {
  const text = Buffer.from(bytes).toString("hex");
  for (let i = 0; i + 4 <= seed.length; i++) if (text.includes(Buffer.from(seed.subarray(i, i + 4)).toString("hex"))) return true;
  return false;
}

/** Erases the token's profiles as its holder would: the link asks, button A confirms. */
function erase(token: McuToken): void {
  token.link.requestErase();
  token.advance(1000);
  token.hold(2500);
  expect(token.profiles()).toHaveLength(0);
}

describe.skipIf(MCU_SKIP !== undefined).each(["release", "debug"] as McuImage[])("token.wasm on the emulated Cortex-M0 (%s)", (image) => {
  let token: McuToken;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "otp-mcu-"));
    token = new McuToken({ image });
  }, MCU_TIMEOUT_MS);

  afterAll(() => {
    token?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "boots through its self-test (HMAC-SHA-1/256/512 and RFC 6238 known answers) on the M0",
    () => {
      expect(token.bootStatus).toBe(STATUS_OK);
      expect(token.resets).toBe(0);
      const info = token.info();
      expect(info.selfTestPassed).toBe(true);
      expect(info.storageOk).toBe(true);
      expect(info.rtcSeconds).toBe(BigInt(START_SECONDS));
      expect(token.screen().mode).toBe("off");
      token.press();
      expect(token.screen().mode).toBe("not-set-up");
      const meter = token.meter();
      expect(meter.boot.call).toBe("boot");
      expect(meter.boot.instructions).toBeGreaterThan(100_000);
      // The fresh token made its serial number from the RNG and stored it: one erase, one record.
      expect(meter.boot.randomBytes).toBe(8);
      expect(meter.boot.flashErases).toBe(1);
      expect(meter.stackHighWaterBytes).toBeGreaterThan(0);
      expect(meter.stackHighWaterBytes).toBeLessThan(meter.stackBytes);
    },
    MCU_TIMEOUT_MS,
  );

  it(
    "is activated by the bank (the library path of otp-token token activate) and shows the first code the bank confirms",
    async () => {
      const store = await openStore(join(dir, "bank.sqlite"), { create: true });
      try {
        const bank = await Bank.open(store, MasterKey.fromHex("5a".repeat(32)), {
          now: () => Number(token.rtcSeconds()),
          outboxDir: join(dir, "outbox"),
        });
        const issued = await bank.issue({
          mail: "holder@example.jp",
          mailConfirm: "holder@example.jp",
          password: PASSWORD,
          passwordConfirm: PASSWORD,
          otp: { algorithm: "SHA256", digits: 8 },
        });
        const request = token.link.activateBegin(issued.serviceId, issued.userId, PASSWORD);
        expect(token.screen().mode).toBe("activating");
        const answer = await bank.activate(request);
        const { profile, confirmation } = token.link.activateFinish(answer.response);
        expect(profile).toBe(0);
        // 登録: the M0's confirmation (message 3) is the bank's proof that both sides agree.
        expect(await bank.register(confirmation)).toEqual({ serial: token.info().serial });
        const screen = token.screen();
        expect(screen).toMatchObject({ mode: "otp", label: "BANK", period: 60 });
        expect(screen.code).toMatch(/^\d{8}$/);
        // The bank accepts it only if both sides derived the same seed (docs/activation.md).
        expect(await bank.confirm(issued.userId, screen.code!)).toMatchObject({ ok: true });
        // A later code, after a minute on the M0's own clock, verifies as a login.
        token.advance(60_000);
        token.press();
        expect(await bank.verify(issued.userId, token.screen().code!)).toMatchObject({ ok: true });
        expect(token.resets).toBe(0);
      } finally {
        await store.close();
      }
    },
    MCU_TIMEOUT_MS,
  );

  it(
    "no link frame faults it or returns a seed byte: every command byte, random lengths and payloads, truncated commands",
    () => {
      erase(token);
      const seed = seedOf(32, 42);
      token.addProfile({ seed, algorithm: "SHA256", label: "SECRET" });
      const before = token.info();
      const frames: Uint8Array[] = [];
      for (let command = 0; command < 256; command++) {
        if (command === 5) continue; // erase: harmless without the button, tested above
        frames.push(Uint8Array.of(command), Uint8Array.of(command, 0, 0, 0, 0, 0, 0, 0, 0));
      }
      for (let i = 0; i < 200; i++) {
        const bytes = pattern(1 + ((i * 37) % 256), i);
        if (bytes[0] === 5) bytes[0] = 4;
        frames.push(bytes);
      }
      // Every prefix of a valid add-profile frame, and of an activation request with a wrong password.
      const add = Uint8Array.of(LINK_ADD_PROFILE, 1, 6, 60, 0, 0, 0, 1, 0x41, 20, ...seedOf(20, 3));
      for (let length = 1; length < add.length; length++) frames.push(add.subarray(0, length));
      const begin = Uint8Array.of(6, ...Buffer.from("10212083"), ...Buffer.from("2083L0000193A001"), 4, ...Buffer.from("Wr0n"));
      for (let length = 1; length < begin.length; length++) frames.push(begin.subarray(0, length));
      for (const frame of frames) {
        const response = raw(token, frame);
        expect(response.length, `response to ${Buffer.from(frame.subarray(0, 8)).toString("hex")}`).toBeGreaterThan(0);
        expect(containsSeedPart(response, seed)).toBe(false);
      }
      // Longer than the link buffer: refused before the firmware sees it.
      expect(() => raw(token, new Uint8Array(257).fill(LINK_INFO))).toThrow(RangeError);
      expect(token.resets).toBe(0);
      // The stored state is what it was, apart from profiles the random frames may have added.
      const after = token.info();
      expect(after.serial).toBe(before.serial);
      expect(after.selfTestPassed && after.storageOk).toBe(true);
      expect(token.profiles()[0]).toMatchObject({ label: "SECRET", algorithm: "SHA256" });
      expect(after.profileCount).toBeLessThanOrEqual(MAX_PROFILES);
    },
    MCU_TIMEOUT_MS,
  );

  it.runIf(HAS_OATHTOOL)(
    "shows oathtool's codes for SHA-1/256/512 at RFC 6238's times, a step boundary, past 2038 and past 2106",
    () => {
      // The clock of a token in use cannot be set (a host must not harvest future codes): each time is
      // set on an erased token, as the factory would.
      const times = [59n, 1111111109n, 1234567890n, 2147483647n, 2147483707n, 4294967296n, 20000000000n];
      const seeds = ALGORITHMS.map((algorithm, i) => seedOf(SEED_LENGTH[algorithm], 50 + i));
      for (const time of times) {
        erase(token);
        token.setClock(time);
        expect(token.rtcSeconds()).toBe(time);
        // The first profile goes in at once; each further one waits for the holder's hold.
        for (const [i, algorithm] of ALGORITHMS.entries())
          token.addProfileConfirmed({ seed: seeds[i], algorithm, digits: 8, label: algorithm });
        token.advance(70_000); // the panel goes off
        const seen = new Set<string>();
        for (let i = 0; i < ALGORITHMS.length; i++) {
          token.press(); // shows the active profile, then each press the next
          const screen = token.screen();
          const algorithm = screen.label as (typeof ALGORITHMS)[number];
          seen.add(algorithm);
          expect(screen.code, `${algorithm} @${token.rtcSeconds()}`).toBe(
            oathtool(algorithm, seeds[ALGORITHMS.indexOf(algorithm)], token.rtcSeconds(), 8),
          );
        }
        expect([...seen].sort()).toEqual([...ALGORITHMS].sort());
      }
      // The step boundary: in its last second the countdown reads 0 and the code is step N's; the refresh
      // at the boundary draws N+1's.
      erase(token);
      const boundary = (1_900_000_000n / 60n + 1n) * 60n;
      token.setClock(boundary - 1n);
      token.addProfile({ seed: seeds[0], algorithm: "SHA1", label: "EDGE" });
      token.press(); // 100 ms
      expect(token.screen()).toMatchObject({ secondsLeft: 0, code: oathtool("SHA1", seeds[0], boundary - 1n) });
      token.advance(900);
      expect(token.screen()).toMatchObject({ secondsLeft: 59, code: oathtool("SHA1", seeds[0], boundary) });
      expect(oathtool("SHA1", seeds[0], boundary)).not.toBe(oathtool("SHA1", seeds[0], boundary - 1n));
      expect(token.resets).toBe(0);
    },
    MCU_TIMEOUT_MS,
  );

  it(
    "a trap resets the board: the firmware boots again with its profiles, and the RTC kept time",
    () => {
      const profiles = token.profiles();
      token.advance(5_000);
      const time = token.rtcSeconds();
      const report = token.fault();
      expect(report).toMatchObject({ afterFault: true, faultCause: FAULT_TRAP, faultDetail: 1, status: STATUS_OK });
      expect(token.resets).toBe(1);
      expect(token.profiles()).toEqual(profiles);
      expect(token.rtcSeconds()).toBe(time);
      token.advance(61_000);
      expect(token.rtcSeconds()).toBe(time + 61n);
      token.press();
      expect(token.screen().mode).toBe("otp");
    },
    MCU_TIMEOUT_MS,
  );

  it(
    "keeps its profile in the nRF51's flash across a QEMU restart with the flash image kept",
    () => {
      erase(token);
      const seed = seedOf(20, 77);
      token.addProfile({ seed, label: "KEPT" });
      const image = token.flashImage();
      // The record pages are laid on real flash pages: the record's magic "OTPT" is in there.
      expect(Buffer.from(image).includes(Buffer.from("OTPT"))).toBe(true);
      const serial = token.info().serial;
      const time = token.rtcSeconds();
      token.restart();
      expect(token.bootStatus).toBe(STATUS_OK);
      expect(token.info().serial).toBe(serial);
      expect(token.profiles()).toEqual([{ index: 0, algorithm: "SHA1", digits: 6, period: 60, label: "KEPT", serviceId: null }]);
      expect(token.rtcSeconds()).toBe(time);
      token.press();
      if (HAS_OATHTOOL) expect(token.screen().code).toBe(oathtool("SHA1", seed, token.rtcSeconds()));
      else expect(token.screen().code).toMatch(/^\d{6}$/);
    },
    MCU_TIMEOUT_MS,
  );
});

describe.skipIf(MCU_SKIP !== undefined)("the product image (build/mcu/token.elf)", () => {
  it(
    "speaks only the link: boots through its self-test, takes a profile, refuses the bench commands",
    () => {
      const token = new McuToken({ image: "product" });
      try {
        expect(token.bootStatus).toBe(STATUS_OK);
        const info = token.info();
        expect(info.selfTestPassed).toBe(true);
        expect(info.clockValid).toBe(false); // a new board's RTC was never set
        token.setClock(START_SECONDS);
        token.addProfile({ seed: seedOf(20, 9), label: "PRODUCT" });
        expect(token.profiles().map((p) => p.label)).toEqual(["PRODUCT"]);
        expect(() => token.press()).toThrow(McuError);
        expect(() => token.screen()).toThrow(/needs a harness image/);
        // The frames themselves are refused by the firmware, not only by the host.
        const refused = (token as unknown as { request(type: number, payload: Uint8Array): unknown }).request.bind(token);
        expect(() => refused(0x53, new Uint8Array(0))).toThrow(/refused SCREEN: unknown frame type/);
        expect(() => token.link.activateFinish(new Uint8Array(100))).toThrow(LinkError);
        expect(token.resets).toBe(0);
      } finally {
        token.close();
      }
    },
    MCU_TIMEOUT_MS,
  );
});
