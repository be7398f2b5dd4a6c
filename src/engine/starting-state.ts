// A session's state as an engine takes it over: new, or carried on from an earlier engine's (what
// it keeps: its start, its stages' times; what the events say: progress; what this engine owns now).
import { hostname } from "node:os";
import { nodeMax, type Plan } from "../defs/plan.ts";
import { createSessionCgroup } from "../lib/cgroup.ts";
import { rootTag } from "../lib/names.ts";
import { pidStart } from "../lib/proc.ts";
import type { SessionEvent } from "../store/events.ts";
import { readState, spendOf, type State } from "../store/state.ts";
import { nodeKey, progressKey, type Replay, replay, resumePoint, unfinished } from "./replay.ts";
import { readEvents } from "../store/events.ts";
import { recoverAttempts } from "./iteration.ts";
import { type RunPaths } from "../store/paths.ts";
import { type EngineLog } from "./log.ts";

const now = () => new Date().toISOString();

/**
 * What an engine starts from: on resume, the event log replayed (a torn or foreign line reported,
 * an attempt whose agent finished after its engine died completed from its status.json), the run
 * to start in, and the state carried on; for a new session, all of it fresh.
 */
export function takeOver(plan: Plan, paths: RunPaths, log: EngineLog, resume: boolean, tmux: string | null): { done: Replay; firstRun: number; state: State } {
  const events = resume ? readEvents(paths.events) : { events: [], bad: [] };
  for (const b of events.bad) log.line(`events.jsonl line ${b.line} ignored (${b.torn ? "torn by a crash" : "not an event"})`);
  for (const e of recoverAttempts(plan, paths, unfinished(events.events))) {
    log.line(`iteration ${e.cursor?.iteration} of ${e.cursor?.id} finished after its engine died: completed from its status.json`);
    events.events.push(e);
  }
  const done = replay(events.events);
  const firstRun = resumePoint(plan, done).run;
  const old = resume ? readState(paths.state) : null;
  return { done, firstRun, state: startingState(plan, done, firstRun, old?.ok ? old.state : null, events.events, tmux) };
}

function startingState(plan: Plan, done: Replay, run: number, base: State | null, events: SessionEvent[], tmux: string | null): State {
  const at = now();
  // An unreadable state.json is rebuilt from the events: when the session began, how many engines ran it.
  const runs = events.filter((e) => e.type === "session_start" || e.type === "session_resume");
  const lastDone = done.history.findLast((h) => h.decision !== "failed")?.iteration ?? 0;
  return {
    session: plan.session,
    type: plan.type,
    target: plan.target.name,
    started_at: base?.started_at ?? runs[0]?.ts ?? at,
    current_stage: base?.current_stage ?? 0,
    iteration: Math.max(base?.iteration ?? 0, lastDone),
    // From the events, not the old snapshot: a crash between the two leaves the snapshot behind.
    iteration_completed: lastDone,
    iteration_started: base?.iteration_started ?? null,
    agent_output: null,
    stall_after: null,
    attempts: (base?.attempts ?? runs.length) + 1,
    status: "running",
    pid: process.pid,
    pid_start: pidStart(process.pid),
    host: hostname(),
    updated_at: at,
    completed_at: null,
    agent_pgids: [],
    cgroup: createSessionCgroup(`${rootTag(plan.root)}-${plan.session}`),
    pause_requested: false,
    waiting_until: null,
    waiting_reason: null,
    tmux,
    completion_reason: null,
    error: null,
    spend: spendOf(done.history),
    ...runFields(plan, run),
    // The snapshot's times and reasons are carried on only within the run they belong to.
    stages: stagesOf(plan, done, run, (base?.run ?? 1) === run ? base : null),
  };
}

/** state.json's run fields, for a plan that runs several times. */
export function runFields(plan: Plan, run: number): Pick<State, "run" | "runs"> {
  const runs = plan.runs ?? 1;
  return runs > 1 ? { run, runs } : {};
}

/** Each node's entry in state.json for run `run`, as far as the events say it got. */
export function stagesOf(plan: Plan, done: Replay, run: number, base: State | null): State["stages"] {
  return plan.nodes.map((n, i) => ({
    index: i,
    id: n.id,
    stage: n.kind === "stage" ? n.stage : "parallel",
    kind: n.kind,
    status: done.nodesDone.has(nodeKey(run, i)) ? "complete" : "pending",
    iterations: n.kind === "stage" ? (done.stages.get(progressKey(run, i, null, n.id))?.completed ?? 0) : 0,
    max: nodeMax(n),
    started_at: base?.stages[i]?.started_at ?? null,
    completed_at: base?.stages[i]?.completed_at ?? null,
    reason: base?.stages[i]?.reason ?? null,
  }));
}
