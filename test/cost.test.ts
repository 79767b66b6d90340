// Costs counted by the debug build: compression-function calls per code.
import { describe, expect, it } from "vitest";
import { otpApi } from "../host/otp.js";
import { ascii } from "./helpers.js";

describe("compression calls (debug build)", () => {
  const api = otpApi("debug");
  const count = () => api.core.compressionCount();

  it.each(["SHA1", "SHA256", "SHA512"])("%s: a code from a resident key costs exactly two compressions", (algorithm) => {
    const generator = api.createTotp(ascii("a key that is resident in the wasm"), { algorithm, digits: 8 });
    // The generator may live in another pool instance; measure the instance that holds it.
    const instance = (generator as unknown as { handle: { instance: { exports: { compressionCount(): number } } } }).handle.instance;
    const before = instance.exports.compressionCount();
    for (let step = 0; step < 10; step++) generator.generate(step * 60);
    expect(instance.exports.compressionCount() - before).toBe(20);
    // Verification with a window of one step each way: three candidates, six compressions.
    const mid = instance.exports.compressionCount();
    generator.verify("00000000", 6000, { window: 1 });
    expect(instance.exports.compressionCount() - mid).toBe(6);
    generator.dispose();
  });

  it.each([
    ["SHA1", 64],
    ["SHA256", 64],
    ["SHA512", 128],
  ] as const)("%s: a one-shot code adds the two key-pad compressions", (algorithm, block) => {
    let before = count();
    api.totp(ascii("short key"), 0, { algorithm });
    expect(count() - before).toBe(4);
    // A key longer than the block is hashed first (RFC 2104): one or more extra compressions.
    before = count();
    api.totp(new Uint8Array(block + 1).fill(7), 0, { algorithm });
    expect(count() - before).toBe(6);
  });

  it("release builds report that they do not count", () => {
    expect(otpApi("release").core.compressionCount()).toBe(-1);
    expect(otpApi("small").core.compressionCount()).toBe(-1);
  });
});
