import { join } from "node:path";
import * as v from "valibot";
import { readText, writeJsonAtomic } from "./fsx.ts";

/** control.json: how `pause` and `resume` speak to a running engine, which reads it between iterations. */
export const ControlSchema = v.looseObject({
  pause: v.optional(v.boolean(), false),
  context: v.nullish(v.string(), null),
  at: v.optional(v.string()),
});
export type Control = v.InferOutput<typeof ControlSchema>;

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
