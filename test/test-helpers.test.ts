// The suite's own rules (test/helpers.ts): a missing tool skips locally and fails under CI=true.
import { describe, expect, it } from "vitest";
import { missingToolMessage, toolVerdict } from "./helpers.js";

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
