import * as v from "valibot";
import { compact, usd } from "../lib/output.ts";
import { readText, writeAtomic } from "./fsx.ts";

export const SessionStatus = v.picklist(["running", "paused", "complete", "failed", "killed"]);
export type SessionStatus = v.InferOutput<typeof SessionStatus>;
/** The statuses of a session whose engine should be alive (paused engines hold between iterations). */
export const RUNNING: ReadonlySet<string> = new Set<SessionStatus>(["running", "paused"]);
/** What list/status show: the stored status, or `crashed` when it says running but the engine is gone. */
export type DisplayStatus = SessionStatus | "crashed" | "unreadable";

export const ErrorKind = v.picklist(["exit", "timeout", "no_status", "bad_status", "agent_error", "auth", "limit", "network", "crash", "signal", "engine", "judge", "queue", "io", "budget"]);
export type ErrorKind = v.InferOutput<typeof ErrorKind>;

/** An iteration's token usage as its provider reported it (claude, codex); null for a command agent. */
export const UsageEntrySchema = v.looseObject({
  input_tokens: v.optional(v.number(), 0),
  output_tokens: v.optional(v.number(), 0),
  cache_read_tokens: v.optional(v.number(), 0),
  cache_write_tokens: v.optional(v.number(), 0),
  cost_usd: v.nullish(v.number(), null),
  turns: v.nullish(v.number(), null),
  model: v.nullish(v.string(), null),
});

/** What an iteration did to the git repository it ran in: HEAD before and after, and its commits. */
export const GitEntrySchema = v.looseObject({
  head_before: v.nullish(v.string(), null),
  head_after: v.nullish(v.string(), null),
  commits: v.optional(v.array(v.looseObject({ hash: v.string(), subject: v.string() })), []),
  /** Files changed by those commits (at most 200 paths listed; files_changed counts all). */
  files: v.optional(v.array(v.string()), []),
  files_changed: v.optional(v.number(), 0),
  lines_added: v.optional(v.number(), 0),
  lines_removed: v.optional(v.number(), 0),
});
export type GitEntry = v.InferOutput<typeof GitEntrySchema>;

export const HistoryEntrySchema = v.looseObject({
  node: v.number(),
  stage: v.string(),
  provider: v.nullish(v.string(), null),
  /** Which run of a plan that runs several times (absent: the first). */
  run: v.optional(v.number()),
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
  usage: v.nullish(UsageEntrySchema, null),
  git: v.nullish(GitEntrySchema, null),
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

/**
 * state.json: a small snapshot of progress, each fact once. The iterations themselves live in
 * events.jsonl (the source of truth); the current stage's id and cap live in stages[current_stage];
 * totals are derived from the history when printed.
 */
export const StateSchema = v.looseObject({
  session: v.string(),
  type: v.picklist(["loop", "pipeline"]),
  target: v.string(),
  status: SessionStatus,
  pid: v.nullish(v.number(), null),
  pid_start: v.nullish(v.string(), null),
  host: v.nullish(v.string(), null),
  started_at: v.string(),
  updated_at: v.string(),
  completed_at: v.nullish(v.string(), null),
  current_stage: v.number(),
  /** A plan that runs several times: the run under way (1-based) of `runs`. */
  run: v.optional(v.number()),
  runs: v.optional(v.number()),
  iteration: v.number(),
  iteration_completed: v.number(),
  iteration_started: v.nullish(v.string(), null),
  /** Every running agent's process group (a parallel block runs several), so `kill` can end them when the engine is gone. */
  agent_pgids: v.optional(v.array(v.number()), []),
  /** The current iteration's output file, whose mtime tells whether the agent is silent. */
  agent_output: v.nullish(v.string(), null),
  stall_after: v.nullish(v.number(), null),
  /** The session's cgroup (v2), where the kernel allows one: every process its agents started, however detached. */
  cgroup: v.nullish(v.string(), null),
  pause_requested: v.optional(v.boolean(), false),
  waiting_until: v.nullish(v.string(), null),
  waiting_reason: v.nullish(v.string(), null),
  attempts: v.optional(v.number(), 1),
  tmux: v.nullish(v.string(), null),
  stages: v.array(StageStateSchema),
  completion_reason: v.nullish(v.string(), null),
  error: v.nullish(StateErrorSchema, null),
  /**
   * The session's spend so far (totalsOf its history), which the engine updates with each
   * iteration and checks its budget against; kept here so `list` shows it without reading events.
   */
  spend: v.nullish(v.object({ cost_usd: v.nullable(v.number()), tokens: v.number() }), null),
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

/** The stage the session is at (its id and cap), or null before the first. */
export const currentStage = (s: State): StageState | null => s.stages[s.current_stage] ?? null;

export type SessionEnd =
  | { status: "complete"; reason: string }
  | { status: "failed" | "killed"; message: string; kind: string };

/** Every way a session ends (its engine's finish, an engine error, kill or cleanup from outside) goes through here. */
export function endState(s: State, end: SessionEnd, at = new Date().toISOString()): State {
  s.status = end.status;
  s.completed_at = at;
  s.updated_at = at;
  s.agent_pgids = [];
  s.waiting_until = null;
  s.waiting_reason = null;
  s.pause_requested = false;
  if (end.status === "complete") {
    s.completion_reason = end.reason;
    s.error = null;
  } else {
    s.completion_reason = null;
    s.error = { message: end.message, kind: end.kind, at, stage: currentStage(s)?.id ?? null, iteration: s.iteration };
    for (const st of s.stages) if (st.status === "running") st.status = end.status;
  }
  return s;
}

/** Compact JSON: `list` parses every state file. */
export function writeState(path: string, state: State): void {
  writeAtomic(path, `${JSON.stringify(state)}\n`);
}

/** A session's or a stage's totals, derived from its history entries (never stored beside them). */
export function totalsOf(history: readonly HistoryEntry[]) {
  let iterations = 0;
  let failures = 0;
  let cost: number | null = null;
  const tokens = { input: 0, output: 0, cache_read: 0, cache_write: 0 };
  let commits = 0;
  let linesAdded = 0;
  let linesRemoved = 0;
  let durationMs = 0;
  const files = new Set<string>();
  for (const h of history) {
    if (h.decision === "failed") failures++;
    else iterations++;
    durationMs += h.duration_ms;
    // A failed attempt spent too: its usage counts.
    const c = h.usage?.cost_usd ?? h.cost_usd;
    if (c !== null && c !== undefined) cost = (cost ?? 0) + c;
    if (h.usage) {
      tokens.input += h.usage.input_tokens;
      tokens.output += h.usage.output_tokens;
      tokens.cache_read += h.usage.cache_read_tokens;
      tokens.cache_write += h.usage.cache_write_tokens;
    }
    if (h.git) {
      commits += h.git.commits.length;
      linesAdded += h.git.lines_added;
      linesRemoved += h.git.lines_removed;
      for (const f of h.git.files) files.add(f);
    }
  }
  return {
    iterations,
    failures,
    /** Null when no iteration reported a cost (codex and command agents report none): never guessed. */
    cost_usd: cost === null ? null : Math.round(cost * 1e6) / 1e6,
    tokens,
    commits,
    files: files.size,
    lines_added: linesAdded,
    lines_removed: linesRemoved,
    duration_ms: durationMs,
  };
}
export type Totals = ReturnType<typeof totalsOf>;

/**
 * The tokens a token budget counts, and list's TOKENS figure: what the model took in anew and gave
 * out. Cache reads (the same context read again, at a tenth of the price) are not counted, or a
 * long Claude run would pass any budget on its first iteration.
 */
export const budgetTokens = (t: Totals["tokens"]) => t.input + t.output + t.cache_write;

/** The session's spend as state.json keeps it for `list` and the engine checks its budget against. */
export function spendOf(history: readonly HistoryEntry[]): { cost_usd: number | null; tokens: number } {
  const t = totalsOf(history);
  return { cost_usd: t.cost_usd, tokens: budgetTokens(t.tokens) };
}

/** One iteration's tokens, cost and commits for people (the pane, status, tail): `12.4k tok $0.0310 1 commit`. */
export function spendText(h: HistoryEntry): string {
  const t = totalsOf([h]);
  const parts: string[] = [];
  if (h.usage) parts.push(`${compact(budgetTokens(t.tokens))} tok`);
  if (t.cost_usd !== null) parts.push(usd(t.cost_usd));
  if (t.commits) parts.push(`${t.commits} commit${t.commits === 1 ? "" : "s"}`);
  return parts.join(" ");
}

/** A session's budget in force and its spend against it. */
export type BudgetView = { usd: number | null; tokens: number | null; spent_usd: number | null; spent_tokens: number };

/**
 * What `status --json` (and a hook's stdin) derives from state.json and the history, never stored:
 * each stage's totals, the current stage's id and cap, the session's totals, commits, budget and
 * last decision.
 */
export function derivedStatus(s: State | null, history: readonly HistoryEntry[], budget: { usd: number | null; tokens: number | null } | null) {
  const stage = s ? currentStage(s) : null;
  const totals = totalsOf(history);
  const last = history.filter((h) => h.decision !== "failed").pop() ?? history[history.length - 1];
  return {
    // stages[] are the current run's: so are their totals.
    ...(s ? { stages: s.stages.map((st) => ({ ...st, totals: totalsOf(history.filter((h) => h.node === st.index && (h.run ?? 1) === (s.run ?? 1))) })) } : {}),
    current_stage_id: stage?.id ?? null,
    max: stage?.max ?? null,
    totals,
    /** The session's budget in force and its spend against it (null: no budget). */
    budget: budget && ({ ...budget, spent_usd: totals.cost_usd, spent_tokens: budgetTokens(totals.tokens) } as BudgetView),
    /** Every commit the session's iterations made, oldest first. */
    commits: history.flatMap((h) => (h.git?.commits ?? []).map((c) => ({ hash: c.hash, subject: c.subject, stage: h.stage, provider: h.provider, iteration: h.iteration }))),
    last: last ? { iteration: last.iteration, stage: last.stage, decision: last.decision, reason: last.reason, summary: last.summary } : null,
  };
}
