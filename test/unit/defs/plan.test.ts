import { expect, test } from "bun:test";
import * as v from "valibot";
import { InputsPlanSchema } from "../../../src/defs/plan.ts";

test("a plan.json written before from_parallel was a list still loads (a session resumed by a newer binary)", () => {
  const base = { from: null, select: "latest", from_initial: false };
  const one = { block: "dual", stage: "review", providers: null, select: "latest" as const };
  expect(v.parse(InputsPlanSchema, { ...base, from_parallel: null }).from_parallel).toEqual([]);
  expect(v.parse(InputsPlanSchema, { ...base, from_parallel: one }).from_parallel).toEqual([one]);
  expect(v.parse(InputsPlanSchema, { ...base, from_parallel: [one, { ...one, stage: "rate" }] }).from_parallel).toHaveLength(2);
});
