import { existsSync, readdirSync, readFileSync } from "node:fs";
import { groupAlive, isSameProcess, killGroup, procStat, waitFor } from "../lib/proc.ts";
import { readLock, removeStale } from "../store/lock.ts";
import { runPaths } from "../store/paths.ts";
import { readState, type DisplayStatus, type State } from "../store/state.ts";
import { killSession, listSessions, type TmuxSession } from "../tmux.ts";
import { evidence, judge, ownTmux, requireSession, sessionNames } from "./inspect.ts";
import { settleState } from "./settle.ts";

export type Stopped = "agent" | "engine" | "tmux" | "lock";

/** What a kill would stop, judged before anything is signalled (and shown when asking to confirm). */
export interface StopPlan {
  session: string;
  status: DisplayStatus;
  /** Running agent process groups of this session (one, or one per parallel provider). */
  agents: number[];
  engine: { pid: number; start: string | null } | null;
  tmux: string | null;
  /** A lock nobody live holds, to remove (a live one belongs to the engine). */
  lock: boolean;
  /** The state says running or paused: it must end as killed even if no engine is left to write it. */
  markState: boolean;
}

export interface StopResult {
  session: string;
  killed: Stopped[];
  /** The state was marked killed here because no engine was left to do it. */
  marked: boolean;
  status: DisplayStatus;
}

/** How long a live engine gets to end its agent before it is signalled from here. */
const ENGINE_ENDS_AGENT_MS = 1000;
const AGENT_GRACE_MS = 3000;
const ENGINE_GRACE_MS = 5000;
export const RUNNING = new Set(["running", "paused"]);

/**
 * The agents' process groups that still run and are this session's. A pgid recorded in a state file
 * may have been reused since the engine died, so on Linux a member must carry PIPELINE_SESSION.
 */
export function liveAgentGroups(state: State | null): number[] {
  if (!state) return [];
  const all = new Set([...(state.agent_pgids ?? []), ...(state.agent_pgid ? [state.agent_pgid] : [])]);
  return [...all].filter((pgid) => groupAlive(pgid) && groupBelongsTo(pgid, state.session));
}

function groupBelongsTo(pgid: number, session: string): boolean {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((n) => /^\d+$/.test(n));
  } catch {
    return true; // no /proc (macOS): the recorded group is all there is to go by
  }
  const marker = `PIPELINE_SESSION=${session}`;
  for (const pid of pids) {
    if (Number(procStat(Number(pid))?.[2]) !== pgid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(marker)) return true;
    } catch {}
  }
  return false;
}

export function planStop(root: string, session: string, tmuxSessions: TmuxSession[] = listSessions()): StopPlan {
  const paths = runPaths(root, session);
  // This root's tmux session, if there is one (a foreign or other root's one is not ours to kill).
  const tmux = ownTmux(root, session, tmuxSessions)?.name ?? null;
  if (!existsSync(paths.dir) && !existsSync(paths.lock) && !tmux) requireSession(root, session);
  const read = readState(paths.state);
  const lock = readLock(paths.lock);
  const ev = judge(session, read, lock, tmux !== null);
  const s = ev.state;
  let engine: StopPlan["engine"] = null;
  if (s && RUNNING.has(s.status) && s.pid && isSameProcess(s.pid, s.pid_start)) engine = { pid: s.pid, start: s.pid_start ?? null };
  else if (!s && lock.state === "live") engine = { pid: lock.lock.pid, start: lock.lock.pid_start ?? null };
  return {
    session,
    status: ev.status,
    agents: s && RUNNING.has(s.status) ? liveAgentGroups(s) : [],
    engine,
    tmux,
    lock: lock.state === "stale" || lock.state === "unreadable",
    markState: !!s && RUNNING.has(s.status),
  };
}

export const nothingToStop = (p: StopPlan) => !p.agents.length && !p.engine && !p.tmux && !p.markState && !p.lock;

/** Sessions of the root that claim to run (running, paused, or crashed with a state still saying so). */
export function runningSessions(root: string): string[] {
  return sessionNames(root).filter((n) => {
    const r = readState(runPaths(root, n).state);
    return r.ok && RUNNING.has(r.state.status);
  });
}

/**
 * Stop a session from the outside so that nothing is left running: the agent's process group is
 * dead (TERM, then KILL) before the engine may be SIGKILLed and before tmux closes (Node-based
 * agents ignore the SIGHUP of a closing tmux); then the lock; then the state must say killed.
 * Every file is kept, so `resume` can continue it.
 */
export async function stopSession(root: string, plan: StopPlan): Promise<StopResult> {
  const paths = runPaths(root, plan.session);
  const killed: Stopped[] = [];
  const engineGone = (e: NonNullable<StopPlan["engine"]>) => !isSameProcess(e.pid, e.start);

  // A live engine is told first and ends its agent itself: an agent signalled from here first dies
  // before the engine handles its own SIGTERM, and the engine then records a failed iteration and
  // fails the session instead of ending it as killed (seen in the e2e tests).
  if (plan.engine) signal(plan.engine.pid, "SIGTERM");
  if (plan.agents.length) {
    const alive = () => plan.agents.filter(groupAlive);
    if (!plan.engine || !(await waitFor(() => !alive().length, ENGINE_ENDS_AGENT_MS, 20))) for (const g of alive()) killGroup(g, "SIGTERM");
    if (!(await waitFor(() => !alive().length, AGENT_GRACE_MS, 20))) for (const g of alive()) killGroup(g, "SIGKILL");
    await waitFor(() => !alive().length, 1000, 20);
    killed.push("agent");
  }
  if (plan.engine) {
    const e = plan.engine;
    const finished = () => {
      if (engineGone(e)) return true;
      const s = readState(paths.state);
      const l = readLock(paths.lock);
      return s.ok && !RUNNING.has(s.state.status) && !(l.state === "live" && l.lock.pid === e.pid);
    };
    if (!(await waitFor(finished, ENGINE_GRACE_MS, 20))) {
      signal(e.pid, "SIGKILL");
      await waitFor(() => engineGone(e), 2000, 20);
    }
    killed.push("engine");
  }
  if (plan.tmux) {
    killSession(plan.tmux); // usually already gone with its engine; --keep leaves it open
    killed.push("tmux");
  }
  const lock = readLock(paths.lock);
  if ((lock.state === "stale" || lock.state === "unreadable") && removeStale(paths.lock, lock.state === "stale" ? lock.lock : null)) killed.push("lock");

  let marked = false;
  const read = readState(paths.state);
  if (read.ok && RUNNING.has(read.state.status) && !isSameProcess(read.state.pid, read.state.pid_start)) {
    markKilled(root, read.state);
    marked = true;
  }
  return { session: plan.session, killed, marked, status: evidence(root, plan.session, false).status };
}

/** What the engine would have written had it lived to see its SIGTERM. */
function markKilled(root: string, s: State): void {
  settleState(root, s, {
    status: "killed",
    message: "killed by 'sessions kill' (the engine was not running)",
    kind: "signal",
    event: "session_killed",
    data: { signal: null, by: "sessions kill", engine: "gone" },
  });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {}
}
