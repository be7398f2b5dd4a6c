import { expect, test } from "bun:test";
import { closest, editDistance } from "../../../src/lib/suggest.ts";

test("a swap of neighbours is one edit, so stauts is nearer status than start", () => {
  expect(editDistance("stauts", "status")).toBe(1);
  expect(editDistance("stauts", "start")).toBe(2);
  expect(closest("stauts", ["start", "status", "stages"])).toBe("status");
  expect(closest("forgrond", ["foreground", "force"])).toBe("foreground");
  expect(closest("zzzzzz", ["start", "status"])).toBeUndefined();
});
