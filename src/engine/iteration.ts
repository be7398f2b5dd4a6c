// Running one iteration: its attempts (a crashed attempt's files kept aside), retries, usage-limit
// waits, and turning the agent's outcome into the history entry that events.jsonl records.
import { existsSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { childCgroup, killCgroup } from "../lib/cgroup.ts";
import { appendEvent, type SessionEvent } from "../store/events.ts";
import { ensureDir, writeJsonAtomic } from "../store/fsx.ts";
import { iterationDir, type RunPaths } from "../store/paths.ts";
import { spendText, type ErrorKind, type HistoryEntry } from "../store/state.ts";
import { cursorOf, runOf, type EngineError, type Host, type StageRun } from "./host.ts";
import type { Plan, ProviderPlan } from "../defs/plan.ts";
import type { TemplateValues } from "../defs/template.ts";
import { agentEnv, runAgent, type AgentOutcome, type AgentRequest } from "./providers/index.ts";
import { gitChanges, gitMark } from "./git.ts";
import { readAgentStatus, strings } from "./status.ts";
import type { Decision } from "./termination.ts";
import { iterationView, stageDirOf } from "./view.ts";

export type IterationResult = { kind: "ok"; decision: Decision; reason: string | null } | { kind: "failed"; error: EngineError } | { kind: "halt" };
type Failure = { kind: ErrorKind; message: string; resetAt: string | null };
type AttemptResult = { kind: "ok"; decision: Decision; reason: string | null } | { kind: "failed"; failure: Failure } | { kind: "halt" };

const now = () => new Date().toISOString();

/** Iteration `n` of a stage, retried in place for usage limits and `on_error: retry`. */
export async function runIteration(h: Host, sr: StageRun, n: number): Promise<IterationResult> {
  let retriesLeft = sr.stage.retries;
  let limitWaits = 0;
  for (;;) {
    const r = await attempt(h, sr, n);
    if (r.kind !== "failed") return r;
    if (h.halted()) return { kind: "halt" };
    const f = r.failure;
    if (f.kind === "limit") {
      // A usage limit is not the agent's fault: wait for the reset and retry without counting it.
      await waitUntil(h, sr, limitWaitUntil(f.resetAt, limitWaits++), f.message);
      if (h.halted()) return { kind: "halt" };
      continue;
    }
    if (sr.stage.on_error === "retry" && retriesLeft > 0 && f.kind !== "auth") {
      retriesLeft--;
      const wait = sr.stage.backoff * 2 ** (sr.stage.retries - retriesLeft - 1);
      h.log.line(`${h.label(sr)} iteration ${n} failed (${f.message}); retrying in ${wait}s (${retriesLeft} retries left)`);
      await waitUntil(h, sr, Date.now() + wait * 1000, `retry after: ${f.message}`);
      if (h.halted()) return { kind: "halt" };
      continue;
    }
    const who = sr.provider.id ? ` [${sr.provider.id}]` : "";
    return { kind: "failed", error: { message: `iteration ${n} of ${sr.stage.id}${who} failed: ${f.message}`, kind: f.kind, stage: sr.stage.id, iteration: n } };
  }
}

/**
 * When to retry after a usage or rate limit: a minute after the reset time the agent gave, else
 * with exponential backoff from one minute up to half an hour.
 */
export function limitWaitUntil(resetAt: string | null, waits: number, at = Date.now()): number {
  const reset = resetAt ? Date.parse(resetAt) : NaN;
  if (Number.isFinite(reset)) return Math.max(at, reset + 60_000);
  return at + Math.min(60_000 * 2 ** waits, 30 * 60_000);
}

async function waitUntil(h: Host, sr: StageRun, until: number, why: string): Promise<void> {
  const s = h.state;
  s.waiting_until = new Date(until).toISOString();
  s.waiting_reason = why;
  h.event("waiting", cursorOf(sr, s.iteration), { until: s.waiting_until, reason: why });
  h.save();
  h.log.line(`${h.label(sr)}: waiting until ${s.waiting_until} (${why})`);
  await h.sleep(sr, Math.max(0, (until - Date.now()) / 1000));
  s.waiting_until = null;
  s.waiting_reason = null;
}

async function attempt(h: Host, sr: StageRun, n: number): Promise<AttemptResult> {
  const view = iterationView(h, sr, n);
  if (existsSync(view.dir)) keepAside(view.dir);
  ensureDir(view.dir);
  writeJsonAtomic(view.files.ctx, view.context);
  // The prompt as the agent got it, beside what it did with it.
  writeFileSync(view.files.prompt, view.prompt);
  const startedAt = now();
  const cursor = cursorOf(sr, n);
  const prov = sr.provider.plan;
  const s = h.state;
  h.event("iteration_start", cursor, { stage: sr.stage.stage, provider: prov.name, model: prov.model });
  s.iteration = n;
  s.iteration_started = startedAt;
  s.agent_output = view.files.output;
  s.stall_after = sr.stage.stall_after;
  if (!sr.provider.id) s.stages[sr.node]!.iterations = n - 1;
  h.save();
  h.log.resetCaps();
  h.log.line(`${h.label(sr)} iteration ${n}/${sr.stage.termination.max} (${prov.name}${prov.model ? ` ${prov.model}` : ""})`);

  const mark = await gitMark(sr.cwd);
  const outcome = await runRecorded(h, sr, prov, view.vars, {
    cwd: sr.cwd,
    env: agentEnv(view.env),
    prompt: view.prompt,
    timeoutMs: sr.stage.timeout * 1000,
    outputPath: view.files.output,
    rawPath: prov.name === "command" ? null : `${view.dir}/agent.jsonl`,
    statusPath: view.files.status,
    echo: (t) => h.log.agent(t),
    echoSaturated: () => h.log.saturated,
  });
  if (h.killed) return { kind: "halt" };

  const { entry, failure } = historyEntry(sr, n, startedAt, outcome, view.files.status);
  entry.git = await gitChanges(sr.cwd, mark);
  h.record(cursor, entry);
  if (failure) {
    h.save();
    h.log.line(`${h.label(sr)} iteration ${n} failed: ${failure.message}`);
    h.iterationHooks(entry);
    return { kind: "failed", failure };
  }
  s.iteration_completed = n;
  if (!sr.provider.id) s.stages[sr.node]!.iterations = n;
  h.save();
  const spent = spendText(entry);
  h.log.line(`${h.label(sr)} iteration ${n}: ${entry.decision}${entry.summary ? ` — ${entry.summary}` : ""}${spent ? ` (${spent})` : ""}`);
  h.iterationHooks(entry);
  return { kind: "ok", decision: entry.decision as Decision, reason: entry.reason };
}

/**
 * Run an agent (or the judge) with its process group recorded in state.json while it runs, so kill,
 * cleanup and resume can end it even when the engine is gone.
 */
export async function runRecorded(h: Host, sr: StageRun, plan: ProviderPlan, vars: TemplateValues, req: Omit<AgentRequest, "onStart" | "abort">): Promise<AgentOutcome> {
  const s = h.state;
  let pgid = 0;
  const cgroup = childCgroup(s.cgroup ?? null);
  try {
    return await runAgent(plan, vars, {
      ...req,
      cgroup,
      abort: h.abortSignal(sr),
      onStart: (g) => {
        pgid = g;
        s.agent_pgids = [...s.agent_pgids, g];
        h.save();
      },
    });
  } finally {
    // What escaped the process group (a setsid daemon, a cleared environment) is still in the cgroup.
    const escaped = await killCgroup(cgroup);
    if (escaped) h.log.line(`${h.label(sr)}: ended ${escaped} process(es) left behind by ${plan.name}`);
    s.agent_pgids = s.agent_pgids.filter((g) => g !== pgid);
  }
}

/** The agent's outcome and its status.json, as the entry events.jsonl keeps. */
function historyEntry(sr: StageRun, n: number, startedAt: string, outcome: AgentOutcome, statusPath: string): { entry: HistoryEntry; failure: Failure | null } {
  const status = readAgentStatus(statusPath);
  let failure = outcome.failure;
  // An agent that wrote a valid status and then exited non-zero (or was ended) still did its work.
  if (failure && status.ok && (failure.kind === "exit" || failure.kind === "timeout") && !outcome.report?.isError) failure = null;
  if (!failure && !status.ok) failure = { kind: status.kind, message: status.why, resetAt: null };
  const ok = status.ok && !failure ? status.status : null;
  const entry: HistoryEntry = {
    node: sr.node,
    stage: sr.stage.id,
    provider: sr.provider.id,
    ...runOf(sr.run),
    iteration: n,
    decision: ok ? ok.decision : "failed",
    reason: clip(failure ? failure.message : (ok?.reason ?? null)),
    summary: clip(status.ok ? (status.status.summary ?? null) : null),
    started_at: startedAt,
    ended_at: now(),
    duration_ms: Math.round(outcome.spawn.durationMs),
    exit_code: outcome.spawn.exitCode,
    error_kind: failure?.kind ?? null,
    cost_usd: outcome.report?.costUsd ?? null,
    usage: outcome.report?.usage ?? null,
    git: null,
    files_touched: status.ok ? strings(status.status.work?.files_touched) : [],
    items_completed: status.ok ? strings(status.status.work?.items_completed) : [],
  };
  return { entry, failure };
}

/**
 * Attempts whose engine died while the agent ran (resume stops such agents before the new engine
 * starts): one whose agent left a valid status.json is completed from it, as an iteration_complete
 * event marked `recovered`; the others run again.
 */
export function recoverAttempts(plan: Plan, paths: RunPaths, starts: SessionEvent[]): SessionEvent[] {
  const done: SessionEvent[] = [];
  for (const start of starts) {
    const c = start.cursor!;
    const dir = iterationDir(stageDirOf(plan, paths, c.run ?? 1, c.node, c.provider ?? null, c.id), c.iteration);
    const status = readAgentStatus(join(dir, "status.json"));
    if (!status.ok) continue;
    let ended = Date.now();
    try {
      ended = statSync(join(dir, "status.json")).mtimeMs;
    } catch {}
    const entry: HistoryEntry = {
      node: c.node,
      stage: c.id,
      provider: c.provider ?? null,
      ...runOf(c.run ?? 1),
      iteration: c.iteration,
      decision: status.status.decision,
      reason: clip(status.status.reason ?? null),
      summary: clip(status.status.summary ?? null),
      started_at: start.ts,
      ended_at: new Date(ended).toISOString(),
      duration_ms: Math.max(0, Math.round(ended - Date.parse(start.ts))),
      exit_code: null,
      error_kind: null,
      cost_usd: null,
      usage: null,
      git: null,
      files_touched: strings(status.status.work?.files_touched),
      items_completed: strings(status.status.work?.items_completed),
      recovered: true,
    };
    done.push(appendEvent(paths.events, { type: "iteration_complete", session: plan.session, cursor: c, data: entry }));
  }
  return done;
}

/** A reason or summary is a line or a paragraph: the event log and every view get at most this much (status.json keeps it all). */
const MAX_TEXT = 2000;
const clip = (t: string | null) => (t && t.length > MAX_TEXT ? `${t.slice(0, MAX_TEXT)}…` : t);

/** A crashed attempt's files are kept beside the new attempt, never overwritten. */
function keepAside(dir: string): void {
  for (let k = 1; ; k++) {
    const target = `${dir}.attempt-${k}`;
    if (!existsSync(target)) {
      renameSync(dir, target);
      return;
    }
  }
}
