import * as v from "valibot";
import { readText, writeAtomic } from "./fsx.ts";

export const SessionStatus = v.picklist(["running", "paused", "complete", "failed", "killed"]);
export type SessionStatus = v.InferOutput<typeof SessionStatus>;
/** What list/status show: the stored status, or `crashed` when it says running but the engine is gone. */
export type DisplayStatus = SessionStatus | "crashed" | "unreadable";

export const ErrorKind = v.picklist(["exit", "timeout", "no_status", "bad_status", "agent_error", "auth", "limit", "network", "crash", "signal", "engine", "judge", "queue", "io"]);
export type ErrorKind = v.InferOutput<typeof ErrorKind>;

export const HistoryEntrySchema = v.looseObject({
  node: v.number(),
  stage: v.string(),
  provider: v.nullish(v.string(), null),
  iteration: v.number(),
  decision: v.picklist(["continue", "stop", "error", "failed"]),
  reason: v.nullish(v.string(), null),
  summary: v.nullish(v.string(), null),
  started_at: v.string(),
  ended_at: v.string(),
  duration_ms: v.number(),
  exit_code: v.nullish(v.number(), null),
  error_kind: v.nullish(ErrorKind, null),
  cost_usd: v.nullish(v.number(), null),
  files_touched: v.optional(v.array(v.string()), []),
  items_completed: v.optional(v.array(v.string()), []),
});
export type HistoryEntry = v.InferOutput<typeof HistoryEntrySchema>;

export const StageStateSchema = v.looseObject({
  index: v.number(),
  id: v.string(),
  stage: v.string(),
  kind: v.picklist(["stage", "parallel"]),
  status: v.picklist(["pending", "running", "complete", "failed", "killed"]),
  iterations: v.number(),
  max: v.number(),
  started_at: v.nullish(v.string(), null),
  completed_at: v.nullish(v.string(), null),
  reason: v.nullish(v.string(), null),
});
export type StageState = v.InferOutput<typeof StageStateSchema>;

export const StateErrorSchema = v.looseObject({
  message: v.string(),
  kind: v.nullish(v.string(), null),
  at: v.string(),
  stage: v.nullish(v.string(), null),
  iteration: v.nullish(v.number(), null),
});

export const StateSchema = v.looseObject({
  session: v.string(),
  type: v.picklist(["loop", "pipeline"]),
  target: v.string(),
  status: SessionStatus,
  pid: v.nullish(v.number(), null),
  pid_start: v.nullish(v.string(), null),
  started_at: v.string(),
  updated_at: v.string(),
  completed_at: v.nullish(v.string(), null),
  current_stage: v.number(),
  current_stage_id: v.nullish(v.string(), null),
  iteration: v.number(),
  iteration_completed: v.number(),
  iteration_started: v.nullish(v.string(), null),
  max: v.number(),
  /** Process group of the running agent, so `kill` can end it even when the engine is gone. */
  agent_pgid: v.nullish(v.number(), null),
  /** Every running agent's process group (a parallel block runs several). */
  agent_pgids: v.optional(v.array(v.number()), []),
  /** The current iteration's output file, whose mtime tells whether the agent is silent. */
  agent_output: v.nullish(v.string(), null),
  stall_after: v.nullish(v.number(), null),
  pause_requested: v.optional(v.boolean(), false),
  waiting_until: v.nullish(v.string(), null),
  waiting_reason: v.nullish(v.string(), null),
  attempts: v.optional(v.number(), 1),
  tmux: v.nullish(v.string(), null),
  agents: v.optional(v.record(v.string(), v.string()), {}),
  totals: v.optional(
    v.looseObject({ iterations: v.number(), cost_usd: v.number(), failures: v.number() }),
    { iterations: 0, cost_usd: 0, failures: 0 },
  ),
  stages: v.array(StageStateSchema),
  history: v.array(HistoryEntrySchema),
  completion_reason: v.nullish(v.string(), null),
  error: v.nullish(StateErrorSchema, null),
});
export type State = v.InferOutput<typeof StateSchema>;

export type StateRead = { ok: true; state: State } | { ok: false; missing: boolean; why: string };

export function readState(path: string): StateRead {
  let text: string | null;
  try {
    text = readText(path);
  } catch (e) {
    return { ok: false, missing: false, why: (e as Error).message };
  }
  if (text === null) return { ok: false, missing: true, why: "no state.json" };
  return parseState(text);
}

export function parseState(text: string): StateRead {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    return { ok: false, missing: false, why: `state.json is not valid JSON (${(e as Error).message})` };
  }
  const r = v.safeParse(StateSchema, data);
  if (!r.success) {
    const i = r.issues[0];
    const where = i.path?.map((p) => p.key).join(".") || "(root)";
    return { ok: false, missing: false, why: `state.json field ${where}: ${i.message}` };
  }
  return { ok: true, state: r.output };
}

/** Compact: `list` parses every state file, and whitespace is half of a long history's bytes. */
export function writeState(path: string, state: State): void {
  writeAtomic(path, `${JSON.stringify(state)}\n`);
}
