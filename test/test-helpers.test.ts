// The suite's own rules (test/helpers.ts): a missing tool skips locally and fails under CI=true; random
// inputs come from a seed that TEST_SEED replays.
import { describe, expect, it } from "vitest";
import { missingToolMessage, seededRandom, testSeed, toolVerdict } from "./helpers.js";

describe("a test whose tool is missing", () => {
  it("runs where the tool is, with or without CI", () => {
    expect(toolVerdict(true, {})).toBe("run");
    expect(toolVerdict(true, { CI: "true" })).toBe("run");
  });

  it("skips locally and fails under CI=true", () => {
    expect(toolVerdict(false, {})).toBe("skip");
    expect(toolVerdict(false, { CI: "" })).toBe("skip");
    expect(toolVerdict(false, { CI: "false" })).toBe("skip");
    expect(toolVerdict(false, { CI: "true" })).toBe("fail");
  });

  it("says what is left out and which Debian package brings the tool", () => {
    expect(missingToolMessage("oathtool", "the live cross-check is skipped")).toBe(
      "the live cross-check is skipped (Debian: apt-get install oathtool; .ci/run installs it)",
    );
  });
});

describe("random test inputs", () => {
  it("the same seed gives the same inputs; another seed others", () => {
    const draw = (seed: number) => {
      const random = seededRandom(seed);
      return [random.bytes(37).toString("hex"), random.int(0, 2 ** 43), random.next()];
    };
    expect(draw(12345)).toEqual(draw(12345));
    expect(draw(12345)[0]).not.toBe(draw(12346)[0]);
    expect(seededRandom(2 ** 32 + 7).seed).toBe(7);
  });

  it("integers stay in [min, max) and reach both ends; bytes take every value", () => {
    const random = seededRandom(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const n = random.int(-3, 4);
      expect(n).toBeGreaterThanOrEqual(-3);
      expect(n).toBeLessThan(4);
      seen.add(n);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    for (let i = 0; i < 1000; i++) expect(random.next()).toBeLessThan(1);
    expect(new Set(random.bytes(20_000)).size).toBe(256);
    expect(random.bytes(5)).toHaveLength(5);
  });

  it("TEST_SEED picks the seed (decimal or 0x); without it a fresh one below 2^32; a bad one is refused", () => {
    expect(testSeed({ TEST_SEED: "42" })).toBe(42);
    expect(testSeed({ TEST_SEED: "0xdeadbeef" })).toBe(0xdeadbeef);
    const fresh = testSeed({});
    expect(Number.isInteger(fresh) && fresh >= 0 && fresh < 2 ** 32).toBe(true);
    for (const bad of ["abc", "-1", "1.5", "4294967296"]) expect(() => testSeed({ TEST_SEED: bad }), bad).toThrow(/TEST_SEED/);
  });
});
