import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { errorMessage } from "../lib/errors.ts";
import { SESSION_NAME, sessionOfTmux, TMUX_PREFIX } from "../lib/names.ts";
import { isAlive, isSameProcess } from "../lib/proc.ts";
import { acquireLock, lockOf, readLock, releaseLock, removable, removeStale, type Lock } from "../store/lock.ts";
import { rootPaths, runPaths } from "../store/paths.ts";
import { readState, RUNNING, type State } from "../store/state.ts";
import { hasSession, killSession, listSessions, type TmuxSession } from "../tmux.ts";
import { judge, sessionNames, type Evidence } from "./inspect.ts";
import { settleState } from "./settle.ts";
import { liveAgentGroups, stopLeftovers } from "./stop.ts";
import { listDir } from "../store/fsx.ts";

/** Filled in when fixing: `note` says why a finding was left alone on purpose, `error` why a fix failed. */
interface Outcome {
  fixed?: boolean;
  note?: string;
  error?: string;
}
export interface StaleLock extends Outcome {
  session: string;
  path: string;
  pid: number | null;
  reason: string;
  /** The lock as judged (null: unreadable), so that only this very lock is removed. */
  lock: Lock | null;
}
export interface OrphanTmux extends Outcome {
  name: string;
  session: string;
  reason: string;
  agent_pgids: number[];
}
export interface ZombieState extends Outcome {
  session: string;
  status: string;
  pid: number | null;
  reason: string;
  agent_pgids: number[];
}
export interface ForeignTmux {
  name: string;
  reason: string;
}
export interface UnreadableState {
  session: string;
  path: string;
  reason: string;
}
/** A run directory with a plan but no state and no events: a start that never reached its engine. */
export interface HalfCreated extends Outcome {
  session: string;
  path: string;
  reason: string;
}
export interface LeftWorktree extends Outcome {
  session: string;
  path: string;
  reason: string;
}

export interface Reconcile {
  stale_locks: StaleLock[];
  orphaned_tmux: OrphanTmux[];
  zombie_states: ZombieState[];
  foreign_tmux: ForeignTmux[];
  unreadable: UnreadableState[];
  half_created: HalfCreated[];
  worktrees: LeftWorktree[];
  fixed: boolean;
}

/**
 * Check locks, tmux sessions and state files against each other. A session counts as alive when its
 * engine process (pid and start time) lives or someone live holds its lock (a start or resume in
 * progress): nothing about a live session is ever reported.
 */
export function scan(root: string, tmux: TmuxSession[] = listSessions()): Reconcile {
  const r: Reconcile = { stale_locks: [], orphaned_tmux: [], zombie_states: [], foreign_tmux: [], unreadable: [], half_created: [], worktrees: [], fixed: false };
  const evs = new Map<string, Evidence>();
  const ev = (session: string) => {
    let e = evs.get(session);
    if (!e) {
      const p = runPaths(root, session);
      evs.set(session, (e = judge(session, readState(p.state), readLock(p.lock), false)));
    }
    return e;
  };
  const held = (e: Evidence) => e.alive || e.lock.state === "live";

  for (const session of sessionNames(root, true)) {
    const e = ev(session);
    if (e.problem && !e.state && existsSync(runPaths(root, session).state)) {
      r.unreadable.push({ session, path: runPaths(root, session).state, reason: e.problem });
    }
    if (!held(e) && halfCreated(root, session)) {
      r.half_created.push({ session, path: runPaths(root, session).dir, reason: "plan.json but no state and no events: a start that never reached its engine" });
    }
    const s = e.state;
    if (s && RUNNING.has(s.status) && !held(e)) {
      r.zombie_states.push({
        session,
        status: s.status,
        pid: s.pid ?? null,
        reason: s.pid && isAlive(s.pid) ? `engine pid ${s.pid} now belongs to another process` : `engine${s.pid ? ` pid ${s.pid}` : ""} is gone`,
        agent_pgids: liveAgentGroups(s),
      });
    }
    if (s && !RUNNING.has(s.status) && !held(e)) r.worktrees.push(...worktrees(runPaths(root, session).dir, session, s));
  }

  for (const file of listDir(rootPaths(root).locks)) {
    const m = /^(.+)\.lock$/.exec(file);
    if (!m || !SESSION_NAME.test(m[1]!)) continue;
    const path = join(rootPaths(root).locks, file);
    const l = readLock(path);
    // An unreadable lock of a session whose engine lives is still that engine's.
    if (!removable(l) || ev(m[1]!).alive) continue;
    const lock = lockOf(l);
    const reason = l.state === "unverifiable" ? `cannot be verified: ${l.why}` : l.why;
    r.stale_locks.push({ session: m[1]!, path, pid: lock?.pid ?? null, reason, lock });
  }

  for (const t of tmux) {
    if (!t.name.startsWith(TMUX_PREFIX)) continue;
    if (t.root === null) {
      r.foreign_tmux.push({ name: t.name, reason: "no @sessions_root: not created by sessions, never touched" });
      continue;
    }
    if (t.root !== root) continue; // another project's session
    const session = sessionOfTmux(root, t.name, (n) => existsSync(runPaths(root, n).dir))!;
    if (!SESSION_NAME.test(session) || !existsSync(runPaths(root, session).dir)) {
      r.orphaned_tmux.push({ name: t.name, session, reason: "no run directory", agent_pgids: [] });
      continue;
    }
    const e = ev(session);
    if (held(e)) continue;
    const s = e.state;
    const reason = !s ? `no live engine (${e.problem})` : RUNNING.has(s.status) ? `engine${s.pid ? ` pid ${s.pid}` : ""} is gone` : `session is ${s.status}`;
    r.orphaned_tmux.push({ name: t.name, session, reason, agent_pgids: liveAgentGroups(s) });
  }
  return r;
}

/** Git worktrees that parallel providers of a finished session left: `.../[run-NN/]parallel-*\/providers/*\/worktree`. */
function worktrees(dir: string, session: string, s: State): LeftWorktree[] {
  const found: LeftWorktree[] = [];
  // A pipeline that runs several times keeps each run's nodes in run-NN/.
  for (const base of [dir, ...listDir(dir).filter((n) => /^run-\d+$/.test(n)).map((n) => join(dir, n))]) {
    for (const block of listDir(base).filter((n) => n.startsWith("parallel-"))) {
      for (const provider of listDir(join(base, block, "providers"))) {
        const path = join(base, block, "providers", provider, "worktree");
        if (existsSync(path)) found.push({ session, path, reason: `session is ${s.status}` });
      }
    }
  }
  return found;
}

export const problems = (r: Reconcile, withWorktrees: boolean) =>
  r.stale_locks.length + r.orphaned_tmux.length + r.zombie_states.length + r.half_created.length + (withWorktrees ? r.worktrees.length : 0);

const halfCreated = (root: string, key: string) => {
  const p = runPaths(root, key);
  return existsSync(p.plan) && !existsSync(p.state) && !existsSync(p.events);
};

/**
 * Fix what `scan` found. A scan is old news by the time a fix runs (a session may have been resumed
 * meanwhile), so each fix takes the session's lock first, which no start or resume can then take,
 * checks its finding again under it, acts, and lets the lock go: stale locks first (removeStale
 * never removes a live one), then orphaned tmux sessions (agent group first), zombie states
 * (→ failed, resumable), half-created run directories, and worktrees only when asked.
 */
export async function fix(root: string, found: Reconcile, opts: { worktrees: boolean }): Promise<Reconcile> {
  for (const l of found.stale_locks) {
    l.fixed = removeStale(l.path, l.lock);
    if (!l.fixed) l.note = existsSync(l.path) ? "the lock changed hands: left alone" : "already gone";
  }

  for (const o of found.orphaned_tmux) {
    await exclusive(root, o.session, o, async () => {
      const t = listSessions().find((x) => x.name === o.name && x.root === root);
      const s = stateOf(root, o.session);
      if (!t) return "already gone";
      if (s && RUNNING.has(s.status) && isSameProcess(s.pid, s.pid_start)) return "no longer orphaned: its engine runs again";
      await stopLeftovers(s);
      killSession(o.name);
      if (hasSession(o.name)) throw new Error("tmux kill-session failed");
      return null;
    });
  }

  for (const z of found.zombie_states) {
    await exclusive(root, z.session, z, async () => {
      const read = readState(runPaths(root, z.session).state);
      if (!read.ok) throw new Error("state.json became unreadable");
      const s = read.state;
      if (!RUNNING.has(s.status)) return `no longer a zombie: now ${s.status}`;
      if (isSameProcess(s.pid, s.pid_start)) return "no longer a zombie: its engine runs again";
      await stopLeftovers(s);
      markFailed(root, z.session, s);
      return null;
    });
  }

  for (const h of found.half_created) {
    await exclusive(root, h.session, h, () => {
      if (!halfCreated(root, h.session)) return existsSync(h.path) ? "no longer half-created: it has a state now" : "already gone";
      rmSync(h.path, { recursive: true, force: true });
      return null;
    });
  }

  if (opts.worktrees) {
    for (const w of found.worktrees) {
      const res = Bun.spawnSync(["git", "-C", root, "worktree", "remove", w.path], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      w.fixed = res.exitCode === 0;
      if (!w.fixed) w.error = res.stderr.toString().trim().split("\n").pop() || `git exit ${res.exitCode}`;
    }
  }
  found.fixed = true;
  return found;
}

/**
 * Run one fix holding the session's lock (`key` may be an archived run's directory name, whose
 * lock name nobody else uses). `act` checks the finding again and returns why it was left alone,
 * or null once fixed. A lock someone live holds means the session is in use: left alone.
 */
async function exclusive(root: string, key: string, finding: Outcome, act: () => Promise<string | null> | string | null): Promise<void> {
  const lock = runPaths(root, key).lock;
  try {
    acquireLock(lock, key, { takeStale: true, holder: "cleanup" });
  } catch (e) {
    finding.fixed = false;
    finding.note = errorMessage(e);
    return;
  }
  try {
    const gone = await act();
    finding.fixed = gone === null;
    if (gone !== null) finding.note = gone;
  } catch (e) {
    finding.fixed = false;
    finding.error = errorMessage(e);
  } finally {
    releaseLock(lock);
  }
}

function stateOf(root: string, session: string): State | null {
  const r = readState(runPaths(root, session).state);
  return r.ok ? r.state : null;
}

/** A zombie becomes failed (crash), which `resume` continues; the event log says who decided it. */
function markFailed(root: string, dir: string, s: State): void {
  settleState(root, dir, s, { status: "failed", message: "engine died", kind: "crash", event: "session_failed", data: { by: "sessions cleanup" } });
}
