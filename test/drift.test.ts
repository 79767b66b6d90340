// A token whose crystal runs 20 ppm fast, used weekly for five simulated years against the bank:
// the real firmware on the board simulator's drifting RTC, the real bank verifying at true time.
// With drift tracking a window of one step keeps accepting it; without, it is refused within months.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Bank } from "../host/bank/bank.js";
import { MasterKey } from "../host/bank/crypto.js";
import { BankError } from "../host/bank/errors.js";
import { openStore } from "../host/bank/open-store.js";
import { SimToken } from "../host/token/sim-token.js";

const WEEK_MS = 7 * 86_400_000;
const WEEKS = 5 * 52;

async function weeklyLogins(
  trackDrift: boolean,
): Promise<{ accepted: number; firstRefusal: number | null; aheadSeconds: number; drift: number }> {
  const token = new SimToken({ boardConfig: { randomSeed: 3, rtc: { driftPpm: 20 } } });
  const store = await openStore(":memory:", { create: true });
  try {
    const bank = await Bank.open(store, MasterKey.fromBytes(randomBytes(32)), {
      now: () => token.board.clock.now() / 1000,
      trackDrift,
      window: 1,
    });
    const issued = await bank.issue({
      mail: "drift@example.jp",
      mailConfirm: "drift@example.jp",
      password: "Ab12",
      passwordConfirm: "Ab12",
    });
    const answer = await bank.activate(token.link.activateBegin(issued.serviceId, issued.userId, "Ab12"));
    await bank.register(token.link.activateFinish(answer.response).confirmation);
    await bank.confirm(issued.userId, token.screen().code!);
    let accepted = 0;
    let firstRefusal: number | null = null;
    let drift = 0;
    for (let week = 1; week <= WEEKS; week++) {
      token.advance(WEEK_MS);
      token.press();
      try {
        drift = (await bank.verify(issued.userId, token.screen().code!)).driftSteps;
        accepted++;
      } catch (error) {
        if (!(error instanceof BankError)) throw error;
        firstRefusal ??= week;
        if (error.code === "locked") break;
      }
    }
    const aheadSeconds = Number(token.rtcSeconds()) - Math.floor(token.board.clock.now() / 1000);
    return { accepted, firstRefusal, aheadSeconds, drift };
  } finally {
    await store.close();
  }
}

describe("clock drift (20 ppm fast, weekly logins for 5 years)", () => {
  it("is accepted every week with a window of one step because the bank tracks the drift", async () => {
    const result = await weeklyLogins(true);
    expect(result.accepted).toBe(WEEKS);
    expect(result.firstRefusal).toBeNull();
    // 20 ppm of 5 years is about 3,150 s: the token is some 52 steps ahead, and the bank knows it.
    expect(result.aheadSeconds).toBeGreaterThan(3100);
    expect(result.aheadSeconds).toBeLessThan(3200);
    expect(result.drift).toBeGreaterThanOrEqual(51);
  });

  it("would fail within the first months with drift tracking disabled", async () => {
    const result = await weeklyLogins(false);
    expect(result.firstRefusal).not.toBeNull();
    expect(result.firstRefusal!).toBeLessThanOrEqual(10);
    expect(result.accepted).toBeLessThan(WEEKS);
  });
});
