import { existsSync } from "node:fs";
import { conflict } from "../lib/errors.ts";
import { killCgroup, members } from "../lib/cgroup.ts";
import { groupAlive, groupMembers, hasEnv, isSameProcess, selfName, stopGroup, waitFor } from "../lib/proc.ts";
import { lockOf, readLock, removable, removeStale, type Lock } from "../store/lock.ts";
import { runPaths } from "../store/paths.ts";
import { type DisplayStatus, readState, RUNNING, type State } from "../store/state.ts";
import { killSession, listSessions, type TmuxSession } from "../tmux.ts";
import { evidence, judge, ownTmux, requireSession, sessionNames } from "./inspect.ts";
import { settleState } from "./settle.ts";

export type Stopped = "agent" | "engine" | "descendants" | "tmux" | "lock";

/** What a kill would stop, judged before anything is signalled (and shown when asking to confirm). */
export interface StopPlan {
  session: string;
  status: DisplayStatus;
  /** Running agent process groups of this session (one, or one per parallel provider). */
  agents: number[];
  engine: { pid: number; start: string | null } | null;
  tmux: string | null;
  /** A lock nobody verifiably holds, to remove (a live one belongs to the engine): why it is not live. */
  lock: string | null;
  /** The state says running or paused: it must end as killed even if no engine is left to write it. */
  markState: boolean;
  /** Processes in the session's cgroup: its agents, and what they started however detached. */
  descendants: number;
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

/**
 * The agents' process groups that still run and are this session's. A pgid recorded in a state file
 * may have been reused since the engine died, so on Linux a member must carry PIPELINE_SESSION.
 */
export function liveAgentGroups(state: State | null): number[] {
  if (!state) return [];
  const marker = `PIPELINE_SESSION=${state.session}`;
  return [...new Set(state.agent_pgids)].filter((pgid) => {
    if (!groupAlive(pgid)) return false;
    const members = groupMembers(pgid);
    return members === null || members.some((pid) => hasEnv(pid, marker)); // no /proc (macOS): the recorded group is all there is to go by
  });
}

/**
 * End what a dead engine left running before anything else touches its session: its agents' process
 * groups, then its cgroup (whatever they started, however detached). The number of groups and processes ended.
 */
export async function stopLeftovers(state: State | null): Promise<number> {
  let n = 0;
  for (const g of liveAgentGroups(state)) if (await stopGroup(g)) n++;
  return n + (await killCgroup(state?.cgroup ?? null));
}

/** How long a `start` or `resume` may take to hand the lock to its engine (launch gives up after 10 s). */
const HANDOFF_MS = 12_000;

/**
 * A live lock whose holder is not (yet) the running engine the state names: a `start`, `resume` or
 * `cleanup` at work, or an engine that took the lock over and has not written its first state.
 * Signalling a `start` would stop the wrong process, and the engine it hands over to would run on.
 */
function pendingHandoff(root: string, session: string): Lock | null {
  const paths = runPaths(root, session);
  const l = readLock(paths.lock);
  if (l.state !== "live") return null;
  if (l.lock.holder !== "engine") return l.lock;
  const s = readState(paths.state);
  if (!s.ok) return s.missing ? l.lock : null;
  return s.state.pid === l.lock.pid ? null : l.lock;
}

/**
 * Wait until whoever holds the lock has handed it to the engine or let it go. A start or resume
 * that never hands over is not signalled (it is not the engine): that is said instead.
 */
async function awaitHandoff(root: string, session: string, onWait: (msg: string) => void): Promise<void> {
  const first = pendingHandoff(root, session);
  if (!first) return;
  const who = first.holder === "engine" ? "its engine is starting" : `'${selfName()} ${first.holder}' holds the lock`;
  onWait(`session ${session}: ${who} (pid ${first.pid}): waiting for its engine`);
  if (await waitFor(() => !pendingHandoff(root, session), HANDOFF_MS, 20)) return;
  const now = pendingHandoff(root, session);
  if (!now || now.holder === "engine") return;
  throw conflict(`session ${session} is held by '${selfName()} ${now.holder}' (pid ${now.pid}), which did not hand it to an engine within ${HANDOFF_MS / 1000} s`, {
    hint: `try again; if pid ${now.pid} hangs, end it, then '${selfName()} kill ${session}'`,
  });
}

export async function planStop(root: string, session: string, o: { tmux?: TmuxSession[]; onWait?: (msg: string) => void } = {}): Promise<StopPlan> {
  const paths = runPaths(root, session);
  await awaitHandoff(root, session, o.onWait ?? (() => {}));
  // This root's tmux session, if there is one (a foreign or other root's one is not ours to kill).
  const tmux = ownTmux(root, session, o.tmux ?? listSessions())?.name ?? null;
  if (!existsSync(paths.dir) && !existsSync(paths.lock) && !tmux) requireSession(root, session);
  const read = readState(paths.state);
  const lock = readLock(paths.lock);
  const ev = judge(session, read, lock, tmux !== null);
  const s = ev.state;
  let engine: StopPlan["engine"] = null;
  if (s && RUNNING.has(s.status) && s.pid && isSameProcess(s.pid, s.pid_start)) engine = { pid: s.pid, start: s.pid_start ?? null };
  // An engine whose state cannot be read is still known by its lock.
  else if (!s && lock.state === "live" && lock.lock.holder === "engine") engine = { pid: lock.lock.pid, start: lock.lock.pid_start ?? null };
  return {
    session,
    status: ev.status,
    agents: s && RUNNING.has(s.status) ? liveAgentGroups(s) : [],
    engine,
    tmux,
    lock: removable(lock) ? (lock.state === "unverifiable" ? lock.why : lock.state) : null,
    markState: !!s && RUNNING.has(s.status),
    descendants: members(s?.cgroup ?? null).length,
  };
}

export const nothingToStop = (p: StopPlan) => !p.agents.length && !p.engine && !p.tmux && !p.markState && !p.lock && !p.descendants;

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
    if (plan.engine) await waitFor(() => !alive().length, ENGINE_ENDS_AGENT_MS, 20);
    await Promise.all(alive().map((g) => stopGroup(g, AGENT_GRACE_MS)));
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
  // The engine is gone: what its agents started outside their process groups is still in the cgroup.
  const after = readState(paths.state);
  if (after.ok && (await killCgroup(after.state.cgroup))) killed.push("descendants");
  if (plan.tmux) {
    killSession(plan.tmux); // usually already gone with its engine; --keep leaves it open
    killed.push("tmux");
  }
  const lock = readLock(paths.lock);
  if (removable(lock) && removeStale(paths.lock, lockOf(lock))) killed.push("lock");

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
  settleState(root, s.session, s, {
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
