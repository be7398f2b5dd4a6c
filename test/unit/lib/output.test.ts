import { describe, expect, test } from "bun:test";
import { safe } from "../../../src/lib/output.ts";

describe("safe", () => {
  test("every control character but tab and newline is shown, not sent", () => {
    expect(safe("a\x1b]52;c;SGVsbG8=\x07b", false)).toBe("a^[]52;c;SGVsbG8=^Gb");
    expect(safe("tab\tnew\nline\r\nend\rover\x7f\x9b", false)).toBe("tab\tnew\nline\nend^Mover^?\\u009b");
    expect(safe("\x00\x01\x1f", false)).toBe("^@^A^_");
  });

  test("on a terminal our own colours stay; anything else, colour-like or not, is neutralized", () => {
    const ours = "\x1b[31mred\x1b[0m";
    expect(safe(`${ours} \x1b]0;title\x07 \x1b[2J`, true)).toBe(`${ours} ^[]0;title^G ^[[2J`);
    expect(safe(ours, false)).toBe("^[[31mred^[[0m");
  });
});
