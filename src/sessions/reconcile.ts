import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { SESSION_NAME } from "../lib/names.ts";
import { isAlive, stopGroup } from "../lib/proc.ts";
import { readLock, removeStale, type Lock } from "../store/lock.ts";
import { rootPaths, runPaths } from "../store/paths.ts";
import { readState, type State } from "../store/state.ts";
import { hasSession, killSession, listSessions, type TmuxSession } from "../tmux.ts";
import { judge, sessionNames, type Evidence } from "./inspect.ts";
import { settleState } from "./settle.ts";
import { liveAgentGroups, RUNNING } from "./stop.ts";

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
  worktrees: LeftWorktree[];
  fixed: boolean;
}

/**
 * Check locks, tmux sessions and state files against each other. A session counts as alive when its
 * engine process (pid and start time) lives or someone live holds its lock (a start or resume in
 * progress): nothing about a live session is ever reported.
 */
export function scan(root: string, tmux: TmuxSession[] = listSessions()): Reconcile {
  const r: Reconcile = { stale_locks: [], orphaned_tmux: [], zombie_states: [], foreign_tmux: [], unreadable: [], worktrees: [], fixed: false };
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
    if ((l.state !== "stale" && l.state !== "unreadable") || ev(m[1]!).alive) continue;
    const lock = l.state === "stale" ? l.lock : null;
    r.stale_locks.push({ session: m[1]!, path, pid: lock?.pid ?? null, reason: l.why, lock });
  }

  for (const t of tmux) {
    if (!t.name.startsWith("pipeline-")) continue;
    if (t.root === null) {
      r.foreign_tmux.push({ name: t.name, reason: "no @sessions_root: not created by sessions, never touched" });
      continue;
    }
    if (t.root !== root) continue; // another project's session
    const session = t.name.slice("pipeline-".length);
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

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export const problems = (r: Reconcile, withWorktrees: boolean) =>
  r.stale_locks.length + r.orphaned_tmux.length + r.zombie_states.length + (withWorktrees ? r.worktrees.length : 0);

/**
 * Fix what `scan` found, each finding checked again first (a session may have been resumed since):
 * agents of dead engines first, then orphaned tmux sessions, zombie states (→ failed, resumable),
 * stale locks (removeStale never removes a live lock), and worktrees only when asked.
 */
export async function fix(root: string, found: Reconcile, opts: { worktrees: boolean }): Promise<Reconcile> {
  const now = scan(root);
  const still = <T>(list: T[], key: (x: T) => string) => new Set(list.map(key));
  const orphans = still(now.orphaned_tmux, (o) => o.name);
  const zombies = still(now.zombie_states, (z) => z.session);

  for (const o of found.orphaned_tmux) {
    if (!orphans.has(o.name)) {
      o.fixed = false;
      o.note = "no longer orphaned";
      continue;
    }
    for (const pgid of liveAgentGroups(stateOf(root, o.session))) await stopGroup(pgid);
    killSession(o.name);
    o.fixed = !hasSession(o.name);
    if (!o.fixed) o.error = "tmux kill-session failed";
  }

  for (const z of found.zombie_states) {
    if (!zombies.has(z.session)) {
      z.fixed = false;
      z.note = "no longer a zombie";
      continue;
    }
    const s = stateOf(root, z.session);
    if (!s) {
      z.fixed = false;
      z.error = "state.json became unreadable";
      continue;
    }
    for (const pgid of liveAgentGroups(s)) await stopGroup(pgid);
    markFailed(root, s);
    z.fixed = true;
  }

  for (const l of found.stale_locks) {
    l.fixed = removeStale(l.path, l.lock);
    if (!l.fixed) l.note = existsSync(l.path) ? "the lock changed hands: left alone" : "already gone";
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

function stateOf(root: string, session: string): State | null {
  const r = readState(runPaths(root, session).state);
  return r.ok ? r.state : null;
}

/** A zombie becomes failed (crash), which `resume` continues; the event log says who decided it. */
function markFailed(root: string, s: State): void {
  settleState(root, s, { status: "failed", message: "engine died", kind: "crash", event: "session_failed", data: { by: "sessions cleanup" } });
}
