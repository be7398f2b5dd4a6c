// status.json, what an agent writes at the end of each iteration: its schema and its bounded, validated reading.
import * as v from "valibot";
import { readText } from "../store/fsx.ts";

/** status.json, written by the agent at the end of each iteration (DESIGN §5). */
export const AgentStatusSchema = v.looseObject({
  decision: v.picklist(["continue", "stop", "error"], "decision must be continue, stop or error"),
  reason: v.optional(v.nullable(v.string())),
  summary: v.optional(v.nullable(v.string())),
  work: v.optional(
    v.looseObject({
      items_completed: v.optional(v.array(v.unknown()), []),
      files_touched: v.optional(v.array(v.unknown()), []),
    }),
  ),
  errors: v.optional(v.array(v.unknown()), []),
});
export type AgentStatus = v.InferOutput<typeof AgentStatusSchema>;

export type StatusRead =
  | { ok: true; status: AgentStatus }
  | { ok: false; kind: "no_status" | "bad_status"; why: string };

/** A status is a few lines of JSON: anything near this is not one, and must not reach memory or the event log. */
export const MAX_STATUS_BYTES = 1 << 20;

export function readAgentStatus(path: string): StatusRead {
  let text: string | null;
  try {
    text = readText(path, MAX_STATUS_BYTES);
  } catch (e) {
    return { ok: false, kind: "bad_status", why: (e as Error).message };
  }
  if (text === null) return { ok: false, kind: "no_status", why: "the agent wrote no status.json" };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, kind: "bad_status", why: `status.json is not valid JSON: ${JSON.stringify(text.slice(0, 80))}` };
  }
  const r = v.safeParse(AgentStatusSchema, data);
  if (!r.success) {
    const i = r.issues[0];
    const field = i.path?.map((p) => p.key).join(".");
    return { ok: false, kind: "bad_status", why: `status.json ${field ? `${field}: ` : ""}${i.message}` };
  }
  return { ok: true, status: r.output };
}

export const strings = (xs: unknown[] | undefined) => (xs ?? []).map((x) => (typeof x === "string" ? x : JSON.stringify(x)));
