import { join } from "node:path";
import * as v from "valibot";
import { readText, writeJsonAtomic } from "./fsx.ts";

/** control.json: how `pause` and `resume` speak to a running engine, which reads it between iterations. */
export const ControlSchema = v.looseObject({
  pause: v.optional(v.boolean(), false),
  context: v.nullish(v.string(), null),
  /** `resume --budget-usd/--budget-tokens`: the session's budget from then on, over the plan's. */
  budget: v.nullish(v.object({ usd: v.nullable(v.number()), tokens: v.nullable(v.number()) }), null),
  at: v.optional(v.string()),
});
export type Control = v.InferOutput<typeof ControlSchema>;
type Budget = { usd: number | null; tokens: number | null };

/** The session budget in force: the plan's, each figure a resume overrode replaced. */
export function budgetInForce(plan: Budget | null, control: Control | null): Budget | null {
  const o = control?.budget;
  const usd = o?.usd ?? plan?.usd ?? null;
  const tokens = o?.tokens ?? plan?.tokens ?? null;
  return usd === null && tokens === null ? null : { usd, tokens };
}

export const controlPath = (runDir: string) => join(runDir, "control.json");

export function readControl(runDir: string): Control | null {
  const text = readText(controlPath(runDir));
  if (text === null) return null;
  try {
    const r = v.safeParse(ControlSchema, JSON.parse(text));
    return r.success ? r.output : null;
  } catch {
    return null;
  }
}

export function writeControl(runDir: string, c: Control): void {
  writeJsonAtomic(controlPath(runDir), { ...c, at: new Date().toISOString() });
}
