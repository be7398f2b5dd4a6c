import { expect, test } from "bun:test";
import { fit, keys, selectFrame } from "../../../src/lib/prompt.ts";

test("keys: arrows (CSI and SS3), several in one chunk, Enter, and every way out", () => {
  expect(keys("\x1b[B\x1b[B\x1bOA\r")).toEqual(["down", "down", "up", "enter"]);
  expect(keys("jk")).toEqual(["down", "up"]);
  expect(keys("\x03")).toEqual(["cancel"]);
  expect(keys("\x1b")).toEqual(["cancel"]);
  expect(keys("yNx")).toEqual(["yes", "no", null]);
});

test("a frame never holds a line wider than the terminal, and keeps the cursor in view", () => {
  const options = Array.from({ length: 30 }, (_, i) => ({ label: `stage-${i}`, value: String(i), hint: "a long description ".repeat(10) }));
  const frame = selectFrame("start which?", options, 25, 80, 12).map(Bun.stripANSI);
  expect(frame).toHaveLength(11);
  for (const l of frame) expect([...l].length).toBeLessThan(80);
  expect(frame.filter((l) => l.startsWith("❯ "))).toEqual([expect.stringContaining("stage-25")]);
  expect(fit("abcdef", 4)).toBe("abc…");
  expect(fit("abc", 4)).toBe("abc");
});
