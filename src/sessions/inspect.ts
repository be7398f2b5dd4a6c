import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { notFound } from "../lib/errors.ts";
import { ARCHIVED_RUN, SESSION_NAME, tmuxNames } from "../lib/names.ts";
import { isSameProcess, selfName } from "../lib/proc.ts";
import { budgetInForce, readControl } from "../store/control.ts";
import { lockOf, readLock, type LockView } from "../store/lock.ts";
import { rootPaths, runPaths, type RunPaths } from "../store/paths.ts";
import { derivedStatus, readState, RUNNING, type DisplayStatus, type State } from "../store/state.ts";
import { readHistory } from "../store/events.ts";
import { agentsOf, readPlan, type Plan } from "../defs/plan.ts";
import { listSessions, type TmuxSession } from "../tmux.ts";

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


/**
 * The displayed status from independent evidence: the state file, the engine's pid + start time, the
 * lock. Only what this host can check counts: a lock that cannot be verified (another host, no start
 * time) makes nothing alive by itself.
 */
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
  return judge(session, readState(p.state), readLock(p.lock), tmux ?? ownTmux(root, session) !== null);
}

/**
 * This root's tmux session for `session`: one of its names (lib/names tmuxNames) whose
 * @sessions_root is this root. Another project's `pipeline-<session>` is never shown, opened or killed.
 */
export function ownTmux(root: string, session: string, all: TmuxSession[] = listSessions()): TmuxSession | null {
  const names = tmuxNames(root, session);
  return all.find((t) => t.root === root && names.includes(t.name)) ?? null;
}

/** Sessions of a root: every run directory (not the `{session}.{timestamp}` archives unless asked). */
export function sessionNames(root: string, all = false): string[] {
  let names: string[];
  try {
    names = readdirSync(rootPaths(root).runs);
  } catch {
    return [];
  }
  return names.filter((n) => SESSION_NAME.test(n) || (all && ARCHIVED_RUN.test(n)));
}

export function requireSession(root: string, session: string): void {
  const p = runPaths(root, session);
  try {
    statSync(p.dir);
  } catch {
    const known = sessionNames(root);
    throw notFound(`no session named ${session} in ${root}`, {
      hint: known.length ? `sessions here: ${known.slice(0, 20).join(", ")}` : `no sessions here yet: '${selfName()} start <target>'`,
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
  const history = s ? readHistory(p.events) : [];
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
    // A pause asked for (control.json) but not yet taken: the engine reads it between iterations.
    pause_requested: !!s?.pause_requested || (ev.alive && readControl(p.dir)?.pause === true),
    unreadable: ev.problem,
    alive: ev.alive,
    tmux: ev.tmux,
    stalled: ev.stalled,
    lock:
      "lock" in ev.lock
        ? {
            pid: ev.lock.lock.pid,
            host: ev.lock.lock.host,
            started_at: ev.lock.lock.started_at,
            holder: ev.lock.lock.holder,
            stale: ev.lock.state === "stale",
            unverifiable: ev.lock.state === "unverifiable",
            why: "why" in ev.lock ? ev.lock.why : null,
          }
        : null,
    // A crashed engine that could not write its error into state.json left it in its lock.
    error: s?.error ?? (ev.status === "crashed" && lockOf(ev.lock)?.error ? { message: lockOf(ev.lock)!.error!, kind: "engine", at: s?.updated_at ?? "", stage: derived.current_stage_id, iteration: s?.iteration ?? null } : null),
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

export const stageDirs = (dir: string) => {
  try {
    return readdirSync(dir).filter((n) => n.startsWith("stage-") || n.startsWith("parallel-")).map((n) => join(dir, n));
  } catch {
    return [];
  }
};
