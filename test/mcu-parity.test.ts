// One scenario, two boards: the firmware in V8 on the board simulator (SimToken) and the same
// token.wasm translated by wasm2c on the emulated Cortex-M0 (McuToken), driven by the same code. At
// every step both show the same screen and hold the same framebuffer, bit for bit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { McuToken } from "../host/mcu/mcu-token.js";
import { SimToken } from "../host/token/sim-token.js";
import { MCU_SKIP, MCU_TIMEOUT_MS } from "./mcu-helpers.js";
import { seedOf, START_SECONDS } from "./token-helpers.js";

/** The surface the scenario needs, which both boards offer. */
type Board = Pick<SimToken, "press" | "hold" | "advance" | "screen" | "framebuffer" | "addProfile" | "addProfileConfirmed" | "profiles">;

describe.skipIf(MCU_SKIP !== undefined)("the same scenario on the simulated board and on the emulated M0", () => {
  let sim: SimToken;
  let mcu: McuToken;

  beforeAll(() => {
    sim = new SimToken({ boardConfig: { randomSeed: 5 } });
    mcu = new McuToken({ startSeconds: START_SECONDS });
  }, MCU_TIMEOUT_MS);

  afterAll(() => mcu?.close());

  /** Runs `step` on both boards (same battery voltage) and expects the same screen and framebuffer. */
  function both(what: string, step: (board: Board) => void): void {
    mcu.setBatteryMillivolts(sim.board.battery.millivolts());
    step(sim);
    step(mcu);
    expect(mcu.screen(), what).toEqual(sim.screen());
    expect(Buffer.from(mcu.framebuffer()).equals(Buffer.from(sim.framebuffer())), `${what}: framebuffers differ`).toBe(true);
  }

  it(
    "shows the same screens and draws the same pixels at every step",
    () => {
      both("boot", () => {});
      both("press on a token with no profile", (b) => b.press());
      both("a profile programmed, then a press", (b) => {
        b.addProfile({ seed: seedOf(20, 31), label: "BANK" });
        b.advance(70_000);
        b.press();
      });
      expect(sim.screen().mode).toBe("otp");
      both("a refresh", (b) => b.advance(1_000));
      const toBoundary = (sim.screen().secondsLeft! + 1) * 1000;
      both("up to and across the step boundary", (b) => b.advance(toBoundary));
      both("a second profile asked for: the token waits for the hold", (b) => {
        b.addProfile({ seed: seedOf(32, 32), algorithm: "SHA256", digits: 8, label: "CORP 2083" });
      });
      expect(sim.screen().mode).toBe("add-confirm");
      both("the hold stores it and shows its code", (b) => b.hold(2500));
      both("a press moves to the next profile", (b) => b.press());
      both("the panel goes dark", (b) => b.advance(75_000));
      expect(sim.screen().mode).toBe("off");
      both("a press an hour later", (b) => {
        b.advance(3_600_000);
        b.press();
      });
      expect(mcu.profiles()).toEqual(sim.profiles());
      expect(mcu.resets).toBe(0);
    },
    MCU_TIMEOUT_MS,
  );
});
