// The token device: what it shows, when, and what it refuses. Every test runs on the release and
// the debug firmware.
import { describe, expect, it } from "vitest";
import {
  ACTIVATION_RESPONSE_BYTES,
  STATUS_BAD_SLOT,
  STATUS_DENIED,
  STATUS_LOW_BATTERY,
  STATUS_NOT_ACTIVATING,
  STATUS_SELF_TEST,
} from "../host/abi.js";
import { LinkError } from "../host/token/link.js";
import { SimToken } from "../host/token/sim-token.js";
import { otpApi } from "../host/otp.js";
import { FIRMWARE_BUILDS, newToken, rtcTime, seedOf, START_SECONDS } from "./token-helpers.js";

const api = otpApi();
const ALGORITHMS = ["SHA1", "SHA256", "SHA512"] as const;
const SEED_BYTES = { SHA1: 20, SHA256: 32, SHA512: 64 };

describe.each(FIRMWARE_BUILDS)("token firmware (%s)", (build) => {
  it("boots asleep and not set up; a press shows the not-set-up screen", () => {
    const token = newToken(build);
    expect(token.bootStatus).toBe(0);
    expect(token.screen().mode).toBe("off");
    expect(token.framebuffer().every((b) => b === 0)).toBe(true);
    token.press();
    expect(token.screen().mode).toBe("not-set-up");
    expect(token.framebuffer().some((b) => b !== 0)).toBe(true);
    expect(token.info()).toMatchObject({ profileCount: 0, selfTestPassed: true, clockValid: true, storageOk: true, firmware: "1.1" });
  });

  it.each(ALGORITHMS)("%s: the screen shows totp() of the seed at that instant, for 6, 7 and 8 digits", (algorithm) => {
    const token = newToken(build, { startMs: (START_SECONDS + 17) * 1000 });
    const seeds = [6, 7, 8].map((digits) => seedOf(SEED_BYTES[algorithm], digits));
    for (const [i, digits] of [6, 7, 8].entries()) {
      token.addProfileConfirmed({ seed: seeds[i], algorithm, digits, period: 60, label: `${algorithm} ${digits}` });
    }
    // The last profile added shows; a press moves on to the first.
    expect(token.screen().profile).toBe(2);
    token.press();
    for (let i = 0; i < 3; i++) {
      const screen = token.screen();
      expect(screen).toMatchObject({ mode: "otp", profile: i, label: `${algorithm} ${6 + i}`, period: 60 });
      expect(screen.code).toBe(api.totp(seeds[i], rtcTime(token), { algorithm, digits: 6 + i }));
      expect(screen.code).toHaveLength(6 + i);
      token.press(); // next profile
    }
    expect(token.screen().profile).toBe(0);
  });

  it("counts down 59 ... 0 as the manual's 60-second timer, and changes the code exactly at the step boundary", () => {
    const token = newToken(build, { startMs: (START_SECONDS + 30) * 1000 });
    const seed = seedOf(20, 1);
    token.addProfile({ seed, label: "BANK" });
    token.press();
    expect(token.screen().secondsLeft).toBe(59 - (rtcTime(token) % 60));
    // To the last second of the step: the timer reads 0, the code is still this step's.
    token.advance(token.screen().secondsLeft! * 1000);
    const before = token.screen();
    expect(rtcTime(token) % 60).toBe(59);
    expect(before.secondsLeft).toBe(0);
    expect(before.code).toBe(api.totp(seed, rtcTime(token)));
    token.advance(1000);
    const after = token.screen();
    expect(rtcTime(token) % 60).toBe(0);
    expect(after.secondsLeft).toBe(59);
    expect(after.code).toBe(api.totp(seed, rtcTime(token)));
    expect(after.code).not.toBe(before.code);
    // A press at the boundary: 59, 58, ..., 0 over the whole step, one code.
    token.press();
    const countdown: number[] = [];
    for (let second = 0; second < 60; second++) {
      countdown.push(token.screen().secondsLeft!);
      expect(token.screen().code).toBe(after.code);
      token.advance(1000);
    }
    expect(countdown).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    // ... and then the next code appears on a panel that is still on.
    expect(token.screen()).toMatchObject({ mode: "otp", secondsLeft: 59, code: api.totp(seed, rtcTime(token)) });
    expect(token.screen().code).not.toBe(after.code);
  });

  it("never goes dark as a new code appears: pressed at any second of a step, the next code shows for at least 10 s", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 2), label: "A" });
    for (let offset = 0; offset < 60; offset++) {
      // Asleep; wake at `offset` seconds into a step.
      token.advance(((offset - (rtcTime(token) % 60) + 60) % 60) * 1000);
      expect(token.screen().mode).toBe("off");
      token.press();
      // The second the press was delivered in (a press lasts 100 ms and may cross into the next one).
      const pressedAt = rtcTime(token);
      let lastOn = pressedAt;
      while (token.screen().mode === "otp") {
        lastOn = rtcTime(token);
        token.advance(1000);
      }
      const offAt = rtcTime(token);
      // On for at least the panel's 60 s; off only when the code on screen has shown for 10 s or more.
      expect(offAt - pressedAt, `pressed at +${offset}`).toBeGreaterThanOrEqual(60);
      expect(offAt % 60, `pressed at +${offset}`).toBeGreaterThanOrEqual(10);
      expect(offAt - lastOn).toBe(1);
      // The longest is a press exactly on a boundary: the next code shows 10 s, so 70 s in all.
      expect(offAt - pressedAt).toBeLessThanOrEqual(70);
    }
  });

  it("turns the panel off 60 s after the last press, and sleeps without ticks", () => {
    const token = newToken(build, { startMs: (START_SECONDS + 30) * 1000 });
    token.addProfile({ seed: seedOf(20, 2), label: "A" });
    token.press();
    token.advance(59_000);
    expect(token.screen().mode).toBe("otp");
    token.advance(1_000);
    expect(token.screen().mode).toBe("off");
    expect(token.framebuffer().every((b) => b === 0)).toBe(true);
    const ticks = token.ticks;
    token.advance(3_600_000);
    expect(token.ticks).toBe(ticks);
  });

  it("a long press shows the serial number, firmware version and battery; a press returns to the code", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 3), label: "A" });
    token.hold(2500);
    expect(token.screen().mode).toBe("info");
    token.press();
    expect(token.screen().mode).toBe("otp");
    expect(token.screen().profile).toBe(0);
  });

  it("keeps at least 8 profiles, each with its own seed, algorithm, digits, period and label, in flash", () => {
    const token = newToken(build);
    const specs = Array.from({ length: 8 }, (_, i) => ({
      seed: seedOf(16 + i * 6, i),
      algorithm: ALGORITHMS[i % 3],
      digits: 6 + (i % 3),
      period: [60, 30, 90][i % 3],
      label: `P${i}`,
    }));
    for (const [i, spec] of specs.entries()) expect(token.addProfileConfirmed(spec)).toBe(i);
    expect(() => token.addProfile({ seed: seedOf(20, 9), label: "NINE" })).toThrow(/already holds 8 profiles/);
    token.powerCycle();
    expect(token.profiles()).toEqual(
      specs.map((s, index) => ({ index, algorithm: s.algorithm, digits: s.digits, period: s.period, label: s.label, serviceId: null })),
    );
    token.press();
    for (const spec of specs) {
      expect(token.screen().code).toBe(api.totp(spec.seed, rtcTime(token), spec));
      token.press();
    }
  });

  it("rejects malformed profiles with a clear error and changes nothing", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 1), label: "KEEP" });
    const sequence = token.info().recordSequence;
    expect(() => token.addProfile({ seed: seedOf(8, 1), label: "X" })).toThrow(/seed must be 16-64 bytes/);
    expect(() => token.addProfile({ seed: seedOf(20, 1), label: "bad*label" })).toThrow(/label must be 1-12 characters/);
    expect(() => token.addProfile({ seed: seedOf(20, 1), label: "X", digits: 9 })).toThrow(/digits must be 6, 7 or 8/);
    // Frames that bypass the host's checks: the firmware's own validation.
    const raw = (frame: number[]) => (token as unknown as { transact(f: Uint8Array): Uint8Array }).transact(Uint8Array.from(frame));
    expect(raw([3, 1, 6, 60, 0, 0, 0, 1, 0x41, 20])[0]).toBe(256 - 8); // truncated: seed missing
    expect(raw([3, 4, 6, 60, 0, 0, 0, 1, 0x41, 16, ...seedOf(16, 1)])[0]).toBe(256 - 1); // algorithm 4
    expect(raw([3, 1, 6, 0, 0, 0, 0, 1, 0x41, 16, ...seedOf(16, 1)])[0]).toBe(256 - 4); // period 0
    expect(raw([3, 1, 6, 60, 0, 0, 0, 1, 0x61, 16, ...seedOf(16, 1)])[0]).toBe(256 - 15); // lower-case label
    expect(raw([99])[0]).toBe(256 - 9); // unknown command
    expect(raw([1, 0])[0]).toBe(256 - 8); // INFO with a stray byte
    expect(token.info().recordSequence).toBe(sequence);
    expect(token.profiles().map((p) => p.label)).toEqual(["KEEP"]);
  });

  it("no link response contains the seed, and the link buffer is zeroed after programming", () => {
    const token = newToken(build);
    const seed = seedOf(32, 42);
    token.addProfile({ seed, algorithm: "SHA256", label: "SECRET" });
    const memory = (token as unknown as { firmware: { memory: WebAssembly.Memory; LINK_BUFFER: number; LINK_SIZE: number } }).firmware;
    const linkBuffer = new Uint8Array(memory.memory.buffer, memory.LINK_BUFFER, memory.LINK_SIZE);
    const containsSeedPart = (bytes: Uint8Array) => {
      const text = Buffer.from(bytes).toString("hex");
      for (let i = 0; i + 4 <= seed.length; i++) if (text.includes(Buffer.from(seed.subarray(i, i + 4)).toString("hex"))) return true;
      return false;
    };
    expect(containsSeedPart(linkBuffer)).toBe(false);
    const raw = (frame: number[]) => (token as unknown as { transact(f: Uint8Array): Uint8Array }).transact(Uint8Array.from(frame));
    for (let command = 0; command < 256; command++) {
      if (command === 5) continue; // erase: harmless without confirmation, tested below
      for (const frame of [[command], [command, 0, 0, 0, 0, 0, 0, 0, 0]]) expect(containsSeedPart(raw(frame))).toBe(false);
    }
    token.press();
    expect(containsSeedPart(raw([1]))).toBe(false);
    expect(containsSeedPart(raw([4]))).toBe(false);
  });

  it("a factory-fresh token takes a profile at once; a token that holds one stores another only on the holder's hold within 10 s", () => {
    const token = newToken(build);
    const first = seedOf(20, 21),
      second = seedOf(32, 22);
    expect(token.addProfile({ seed: first, label: "FACTORY" })).toBe(0);
    const memory = () => Buffer.from((token as unknown as { firmware: { memory: WebAssembly.Memory } }).firmware.memory.buffer);
    // Not confirmed: the window passes (a short press is no confirmation), nothing is stored, the seed is gone from RAM.
    expect(token.addProfile({ seed: second, algorithm: "SHA256", label: "HOST" })).toBeNull();
    expect(token.screen().mode).toBe("add-confirm");
    expect(memory().indexOf(Buffer.from(second))).toBeGreaterThan(0);
    token.press();
    expect(token.screen().mode).toBe("add-confirm");
    token.advance(10_000);
    expect(token.profiles().map((p) => p.label)).toEqual(["FACTORY"]);
    expect(memory().indexOf(Buffer.from(second))).toBe(-1);
    token.hold(2500); // too late: the info screen, not a confirmation
    expect(token.profiles()).toHaveLength(1);
    // A host alone cannot fill the slots the bank's activation needs.
    for (let i = 0; i < 8; i++) expect(token.addProfile({ seed: seedOf(20, 30 + i), label: `FILL${i}` })).toBeNull();
    token.advance(11_000);
    expect(token.profiles()).toHaveLength(1);
    // Another link command in the window forgets the waiting profile.
    expect(token.addProfile({ seed: second, algorithm: "SHA256", label: "HOST" })).toBeNull();
    token.link.requestErase();
    token.advance(11_000);
    expect(token.profiles()).toHaveLength(1);
    expect(memory().indexOf(Buffer.from(second))).toBe(-1);
    // Held within the window: stored, and its first code shows.
    const sequence = token.info().recordSequence;
    expect(token.addProfile({ seed: second, algorithm: "SHA256", label: "HOST" })).toBeNull();
    token.advance(6_000);
    token.hold(2500);
    expect(token.profiles().map((p) => p.label)).toEqual(["FACTORY", "HOST"]);
    expect(token.info().recordSequence).toBe(sequence + 1);
    expect(token.screen()).toMatchObject({
      mode: "otp",
      profile: 1,
      label: "HOST",
      code: api.totp(second, rtcTime(token), { algorithm: "SHA256" }),
    });
    token.powerCycle();
    expect(token.profiles()).toHaveLength(2);
    // Erased (held), it is factory-fresh again: the next profile is taken at once.
    token.link.requestErase();
    token.hold(2500);
    expect(token.profiles()).toHaveLength(0);
    expect(token.addProfile({ seed: first, label: "AGAIN" })).toBe(0);
  });

  it("a link command or a press of button A cancels an activation under way (the bank refused it)", () => {
    const token = newToken(build);
    token.link.activateBegin("10212083", "2083L0000193A001", "Pass1234");
    expect(token.screen().mode).toBe("activating");
    expect(token.link.activateCancel()).toBe(true);
    expect(token.screen().mode).toBe("not-set-up");
    expect(() => token.link.activateFinish(new Uint8Array(ACTIVATION_RESPONSE_BYTES))).toThrow(
      expect.objectContaining({ status: STATUS_NOT_ACTIVATING }),
    );
    expect(token.link.activateCancel()).toBe(false);
    // The holder's press on the activating screen does the same.
    token.link.activateBegin("10212083", "2083L0000193A001", "Pass1234");
    expect(token.screen().mode).toBe("activating");
    token.press();
    expect(token.screen().mode).toBe("not-set-up");
    expect(token.link.activateCancel()).toBe(false);
    expect(() => token.link.activateFinish(new Uint8Array(ACTIVATION_RESPONSE_BYTES))).toThrow(
      expect.objectContaining({ status: STATUS_NOT_ACTIVATING }),
    );
    // Nothing was counted against the token: a cancel is not a failed response.
    expect(token.info().profileCount).toBe(0);
    token.link.activateBegin("10212083", "2083L0000193A001", "Pass1234");
    expect(token.screen().mode).toBe("activating");
  });

  it("erases only when button A is held within the window after the erase command", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 5), label: "KEEP" });
    token.link.requestErase();
    expect(token.screen().mode).toBe("erase-confirm");
    token.press(); // a short press is not a confirmation
    token.advance(11_000);
    expect(token.profiles()).toHaveLength(1);
    token.link.requestErase();
    token.advance(12_000); // window expires unconfirmed
    token.hold(2500);
    expect(token.profiles()).toHaveLength(1);
    token.link.requestErase();
    token.advance(3_000);
    token.hold(2500);
    expect(token.profiles()).toHaveLength(0);
    token.press();
    expect(token.screen().mode).toBe("not-set-up");
  });

  it("shows clock lost when the RTC lost power, and no codes until the time is set", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 6), label: "A" });
    token.board.rtc.removeBackupBattery();
    token.powerOff();
    token.board.clock.advance(60_000);
    token.powerOn();
    token.press();
    expect(token.screen()).toMatchObject({ mode: "clock-lost", code: null });
    expect(token.info().clockValid).toBe(false);
    token.setClock(START_SECONDS + 86_400);
    token.press();
    expect(token.screen().mode).toBe("otp");
    expect(token.screen().code).toBe(api.totp(seedOf(20, 6), START_SECONDS + 86_400));
  });

  it("shows clock lost when the RTC reads earlier than the latest recorded time; a working token refuses a new time", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 7), label: "A" });
    token.press(); // records the time
    expect(token.info().latestRecordedSeconds).toBe(BigInt(START_SECONDS));
    expect(() => token.setClock(START_SECONDS + 3600)).toThrow(expect.objectContaining({ status: STATUS_DENIED }));
    token.board.rtc.set(BigInt(START_SECONDS - 600));
    token.press();
    expect(token.screen().mode).toBe("clock-lost");
    token.setClock(START_SECONDS + 100);
    token.press();
    expect(token.screen().mode).toBe("otp");
  });

  it("below the brown-out voltage shows low battery, writes nothing and keeps what is stored", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 8), label: "A" });
    token.board.battery.set(2150);
    token.press();
    expect(token.screen().mode).toBe("low-battery");
    const operations = token.board.flash.operationCount;
    let refused: unknown;
    try {
      token.addProfile({ seed: seedOf(20, 9), label: "B" });
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(LinkError);
    expect((refused as LinkError).status).toBe(STATUS_LOW_BATTERY);
    expect(token.board.flash.operationCount).toBe(operations);
    token.board.battery.set(2950);
    token.press();
    expect(token.screen().mode).toBe("otp");
    expect(token.profiles().map((p) => p.label)).toEqual(["A"]);
    // Between low and brown-out, codes still show with an empty battery gauge.
    token.board.battery.set(2300);
    token.press();
    expect(token.screen()).toMatchObject({ mode: "otp", battery: 0 });
  });

  it("refuses to show codes when a self-test known answer is wrong", () => {
    // Flip one byte of the expected HMAC-SHA-1 in the firmware's memory before boot.
    const expected = Buffer.from("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79", "hex");
    const corrupt = (memory: Uint8Array) => {
      const at = Buffer.from(memory.buffer, memory.byteOffset, memory.length).indexOf(expected);
      expect(at).toBeGreaterThan(0);
      memory[at + 5] ^= 0x01;
    };
    const good = newToken(build);
    good.addProfile({ seed: seedOf(20, 10), label: "A" });
    const token = new SimToken({ build, board: good.board, beforeBoot: corrupt });
    expect(token.bootStatus).toBe(STATUS_SELF_TEST);
    expect(token.screen().mode).toBe("self-test-failed");
    token.press();
    token.advance(30_000);
    expect(token.screen()).toMatchObject({ mode: "self-test-failed", code: null });
    // The error screen turns off with the panel like any other, and comes back on a press.
    token.advance(60_000);
    expect(token.screen().mode).toBe("off");
    token.press();
    expect(token.screen()).toMatchObject({ mode: "self-test-failed", code: null });
    expect(token.info().selfTestPassed).toBe(false);
    expect(() => token.addProfile({ seed: seedOf(20, 11), label: "B" })).toThrow(/failed its self-test/);
  });
});

describe("token costs (debug firmware)", () => {
  it("computes one HMAC (two compressions) per displayed step, not per refresh", () => {
    const token = newToken("debug", { startMs: (START_SECONDS + 5) * 1000 });
    token.addProfile({ seed: seedOf(20, 12), label: "A" });
    token.press(); // key prepared (2) and first code (2)
    const start = token.compressionCount();
    // Keep the panel on across three step boundaries: 150 refreshes, three new steps.
    for (let i = 0; i < 3; i++) {
      token.advance(50_000);
      token.press();
    }
    token.advance(25_000);
    expect(rtcTime(token) - START_SECONDS).toBe(5 + 175);
    expect(token.compressionCount() - start).toBe(3 * 2);
  });
});

describe.each(FIRMWARE_BUILDS)("deleting one profile (%s)", (build) => {
  it("a hold on a code asks to delete that profile: a press keeps it, a second hold deletes it in one record write", () => {
    const token = newToken(build);
    const specs = ["ONE", "TWO", "THREE"].map((label, i) => ({ seed: seedOf(20, 40 + i), label }));
    for (const spec of specs) token.addProfileConfirmed(spec);
    token.press();
    token.press(); // profile 1, TWO
    expect(token.screen()).toMatchObject({ mode: "otp", profile: 1, label: "TWO" });
    token.hold(2500);
    expect(token.screen()).toMatchObject({ mode: "delete-confirm", profile: 1, label: "TWO" });
    // A press keeps it: its code returns.
    token.press();
    expect(token.screen()).toMatchObject({ mode: "otp", profile: 1 });
    expect(token.profiles()).toHaveLength(3);
    // Asked again and left alone: the window passes, nothing changes.
    token.hold(2500);
    token.advance(11_000);
    expect(token.screen().mode).not.toBe("delete-confirm");
    expect(token.profiles()).toHaveLength(3);
    // Held twice: deleted; the later profile moves down, its codes unchanged.
    for (let presses = 0; presses < 4 && !(token.screen().mode === "otp" && token.screen().label === "TWO"); presses++) token.press();
    expect(token.screen()).toMatchObject({ mode: "otp", label: "TWO" });
    const sequence = token.info().recordSequence;
    token.hold(2500);
    token.hold(2500);
    expect(token.info().recordSequence).toBe(sequence + 1);
    expect(token.profiles().map((p) => p.label)).toEqual(["ONE", "THREE"]);
    token.powerCycle();
    token.press();
    token.press();
    expect(token.screen()).toMatchObject({ mode: "otp", profile: 1, label: "THREE", code: api.totp(specs[2].seed, rtcTime(token)) });
  });

  it("the link's DELETE_PROFILE waits for the hold, names the profile on screen, and refuses an index it does not hold", () => {
    const token = newToken(build);
    token.addProfile({ seed: seedOf(20, 50), label: "KEEP" });
    token.addProfileConfirmed({ seed: seedOf(20, 51), label: "GONE" });
    expect(statusOf(() => token.link.requestDelete(2))).toBe(STATUS_BAD_SLOT);
    token.link.requestDelete(1);
    expect(token.screen()).toMatchObject({ mode: "delete-confirm", label: "GONE" });
    token.advance(11_000);
    expect(token.profiles()).toHaveLength(2);
    // Another link command forgets the request.
    token.link.requestDelete(1);
    token.link.activateCancel();
    token.hold(2500);
    expect(token.profiles()).toHaveLength(2);
    token.deleteProfile(1);
    expect(token.profiles().map((p) => p.label)).toEqual(["KEEP"]);
    // The last one too: the token is not set up, and a hold (with the panel off) shows its info.
    token.deleteProfile(0);
    expect(token.profiles()).toHaveLength(0);
    expect(token.screen().mode).toBe("not-set-up");
    token.advance(61_000);
    token.hold(2500);
    expect(token.screen().mode).toBe("info");
  });
});

function statusOf(run: () => unknown): number {
  try {
    run();
  } catch (error) {
    if (error instanceof LinkError) return error.status;
    throw error;
  }
  return 0;
}
