// A session's state as an engine takes it over: new, or carried on from an earlier engine's (what
// it keeps: its start, its stages' times; what the events say: progress; what this engine owns now).
import { hostname } from "node:os";
import { nodeMax, type Plan } from "../defs/plan.ts";
import { createSessionCgroup } from "../lib/cgroup.ts";
import { rootTag } from "../lib/names.ts";
import { pidStart } from "../lib/proc.ts";
import type { SessionEvent } from "../store/events.ts";
import { spendOf, type State } from "../store/state.ts";
import { nodeKey, progressKey, type Replay } from "./replay.ts";

const now = () => new Date().toISOString();

export function startingState(plan: Plan, done: Replay, run: number, base: State | null, events: SessionEvent[], tmux: string | null): State {
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
