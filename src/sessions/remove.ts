/** rm and prune: a finished session's run directory, lock and leftover tmux go; a live one only by force. */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { conflict, usage } from "../lib/errors.ts";
import { selfName } from "../lib/proc.ts";
import { acquireLock, releaseLock } from "../store/lock.ts";
import { runPaths } from "../store/paths.ts";
import { listSessions } from "../tmux.ts";
import { requireSession } from "./inspect.ts";
import { overview, type SessionRow } from "./overview.ts";
import { nothingToStop, planStop, stopLeftovers, type Stopped, type StopPlan, stopSession } from "./stop.ts";
import { readState } from "../store/state.ts";

export interface Removed {
  session: string;
  /** The status it had when it was removed. */
  status: string;
  /** What had to be stopped first (with --force, or a --keep session's open tmux). */
  killed: Stopped[];
}

const live = (p: StopPlan) => p.engine !== null || p.agents.length > 0;

/**
 * Remove sessions: all are checked before any is touched, so a typo or a live session among them
 * removes nothing. A live one is refused unless `force`, which kills it first.
 */
export async function removeSessions(root: string, sessions: string[], force: boolean): Promise<Removed[]> {
  for (const s of sessions) requireSession(root, s);
  const tmux = listSessions();
  const plans: StopPlan[] = [];
  for (const s of sessions) plans.push(await planStop(root, s, { tmux }));
  const running = plans.filter(live);
  if (running.length && !force) {
    const names = running.map((p) => p.session).join(" ");
    throw conflict(`${names} ${running.length === 1 ? "is" : "are"} still running: rm removes only finished sessions`, {
      hint: `'${selfName()} kill ${names}' first, or 'rm --force' kills and removes`,
      details: { running: running.map((p) => p.session) },
    });
  }
  const done: Removed[] = [];
  for (const plan of plans) {
    const killed = nothingToStop(plan) ? [] : (await stopSession(root, plan)).killed;
    const paths = runPaths(root, plan.session);
    // Holding the lock while deleting: an engine resumed meanwhile makes this refuse, not race.
    acquireLock(paths.lock, plan.session, { takeStale: true });
    try {
      // A dead engine's cgroup (empty by now, or holding what escaped) goes with its session.
      const st = readState(paths.state);
      await stopLeftovers(st.ok ? st.state : null);
      const worktrees = hasWorktrees(paths.dir);
      rmSync(paths.dir, { recursive: true, force: true });
      // Parallel providers' git worktrees lived in the run directory: git forgets them too (their branches stay).
      if (worktrees) Bun.spawnSync(["git", "-C", root, "worktree", "prune"], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
    } finally {
      releaseLock(paths.lock);
    }
    done.push({ session: plan.session, status: plan.status, killed });
  }
  return done;
}

function hasWorktrees(dir: string): boolean {
  try {
    return readdirSync(dir).some((n) => n.startsWith("parallel-"));
  } catch {
    return false;
  }
}

export const PRUNABLE = ["complete", "failed", "killed"] as const;

export interface PruneFilter {
  /** Only sessions whose last update is older than this many milliseconds. */
  olderThanMs?: number;
  statuses: readonly string[];
}

/** What prune would remove: finished sessions (archived runs included) matching the filter, oldest last. */
export function pruneCandidates(root: string, f: PruneFilter, now = Date.now()): SessionRow[] {
  return overview(root, true).rows.filter((r) => {
    if (!f.statuses.includes(r.status) || r.alive || !existsSync(runPaths(root, r.session).dir)) return false;
    if (f.olderThanMs === undefined) return true;
    const t = Date.parse(r.updated_at ?? r.started_at ?? "");
    return Number.isFinite(t) && now - t >= f.olderThanMs;
  });
}

/** `7d`, `12h`, `30m`, `90s`, `2w` → milliseconds. */
export function parseAge(text: string, flag: string): number {
  const m = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!m) throw usage(`${flag} must be a number with a unit s, m, h, d or w (got ${JSON.stringify(text)})`, { hint: `for example ${flag} 7d` });
  const unit = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }[m[2] as "s"]!;
  return Number(m[1]) * unit * 1000;
}
