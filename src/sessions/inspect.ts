import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { notFound } from "../lib/errors.ts";
import { tmuxName } from "../lib/names.ts";
import { isSameProcess } from "../lib/proc.ts";
import { readLock, type LockView } from "../store/lock.ts";
import { rootPaths, runPaths, type RunPaths } from "../store/paths.ts";
import { derivedStatus, readState, type DisplayStatus, type State } from "../store/state.ts";
import { budgetInForce, readControl } from "../store/control.ts";
import { readEvents } from "../store/events.ts";
import { agentsOf, readPlan, type Plan } from "../defs/plan.ts";
import { replay } from "../engine/replay.ts";
import { hasSession, listSessions, type TmuxSession } from "../tmux.ts";

export interface Evidence {
  session: string;
  state: State | null;
  /** Why the state could not be read (unreadable / missing). */
  problem: string | null;
  status: DisplayStatus;
  alive: boolean;
  tmux: boolean;
  lock: LockView;
  stalled: boolean;
}

const RUNNING = new Set(["running", "paused"]);

/** The displayed status from independent evidence: the state file, the engine's pid + start time, the lock. */
export function judge(session: string, read: ReturnType<typeof readState>, lock: LockView, tmux: boolean, now = Date.now()): Evidence {
  if (!read.ok) {
    return { session, state: null, problem: read.why, status: "unreadable", alive: lock.state === "live", tmux, lock, stalled: false };
  }
  const s = read.state;
  const lockAlive = lock.state === "live" && (s.pid == null || lock.lock.pid === s.pid);
  const alive = RUNNING.has(s.status) && (lockAlive || isSameProcess(s.pid, s.pid_start));
  const status: DisplayStatus = RUNNING.has(s.status) && !alive ? "crashed" : s.status;
  return { session, state: s, problem: null, status, alive, tmux, lock, stalled: alive && s.status === "running" && isStalled(s, now) };
}

/** Silent too long: the running iteration's output has not changed for stall_after seconds. */
export function isStalled(s: State, now = Date.now()): boolean {
  if (!s.agent_pgids.length || !s.agent_output || !s.stall_after) return false;
  try {
    return now - statSync(s.agent_output).mtimeMs > s.stall_after * 1000;
  } catch {
    return s.iteration_started ? now - Date.parse(s.iteration_started) > s.stall_after * 1000 : false;
  }
}

export function evidence(root: string, session: string, tmux?: boolean): Evidence {
  const p = runPaths(root, session);
  return judge(session, readState(p.state), readLock(p.lock), tmux ?? hasSession(tmuxName(session)));
}

/** Sessions of a root: every run directory (not the `{session}.{timestamp}` archives unless asked). */
export function sessionNames(root: string, all = false): string[] {
  let names: string[];
  try {
    names = readdirSync(rootPaths(root).runs);
  } catch {
    return [];
  }
  return names.filter((n) => (all ? /^[a-z0-9][a-z0-9-]{0,63}(\.\d{8}T\d{6})?$/ : /^[a-z0-9][a-z0-9-]{0,63}$/).test(n));
}

export function requireSession(root: string, session: string): void {
  const p = runPaths(root, session);
  try {
    statSync(p.dir);
  } catch {
    const known = sessionNames(root);
    throw notFound(`no session named ${session} in ${root}`, {
      hint: known.length ? `sessions here: ${known.slice(0, 20).join(", ")}` : "no sessions here yet: 'sessions start <target>'",
      details: { sessions: known },
    });
  }
}

/** The `status` document (DESIGN §6): state fields plus the evidence and the paths. */
export function inspect(root: string, session: string) {
  requireSession(root, session);
  const p = runPaths(root, session);
  const ev = evidence(root, session);
  const s = ev.state;
  // The iterations live in events.jsonl; what state.json does not store twice is derived here.
  const history = s ? replay(readEvents(p.events).events).history : [];
  const plan = planOf(p);
  const derived = derivedStatus(s, history, budgetInForce(plan?.budget ?? null, readControl(p.dir)));
  return {
    ...(s ? { ...s, stages: derived.stages! } : { session }),
    current_stage_id: derived.current_stage_id,
    max: derived.max,
    agents: plan ? agentsOf(plan) : {},
    totals: derived.totals,
    budget: derived.budget,
    commits: derived.commits,
    history,
    status: ev.status,
    stored_status: s?.status ?? null,
    unreadable: ev.problem,
    alive: ev.alive,
    tmux: ev.tmux,
    stalled: ev.stalled,
    lock:
      ev.lock.state === "live" || ev.lock.state === "stale"
        ? { pid: ev.lock.lock.pid, host: ev.lock.lock.host, started_at: ev.lock.lock.started_at, stale: ev.lock.state === "stale" }
        : null,
    last: derived.last,
    paths: { run_dir: p.dir, state: p.state, events: p.events, progress: p.progress, log: p.log, plan: p.plan },
  };
}
export type StatusDoc = ReturnType<typeof inspect>;


/** plan.json, or null when it cannot be read. */
function planOf(paths: RunPaths): Plan | null {
  try {
    return readPlan(paths);
  } catch {
    return null;
  }
}

/** One tmux call for all sessions: name → session, for list and cleanup. */
export function tmuxIndex(): Map<string, TmuxSession> {
  return new Map(listSessions().map((t) => [t.name, t]));
}

export const stageDirs = (dir: string) => {
  try {
    return readdirSync(dir).filter((n) => n.startsWith("stage-") || n.startsWith("parallel-")).map((n) => join(dir, n));
  } catch {
    return [];
  }
};
