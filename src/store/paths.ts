import { existsSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { usage } from "../lib/errors.ts";

/** --root, else $SESSIONS_ROOT, else the git top-level of the cwd, else the cwd (DESIGN §3). */
export function resolveRoot(flag?: string): string {
  const given = flag || process.env.SESSIONS_ROOT;
  if (given) {
    // A typo must not become a new project: `start` would create it and run there.
    if (!statOrNull(given)?.isDirectory()) {
      throw usage(`project root ${given} is not a directory`, { hint: `${flag ? "--root" : "$SESSIONS_ROOT"} must name an existing directory` });
    }
    return real(resolve(given));
  }
  const cwd = process.cwd();
  return real(gitTop(cwd) ?? cwd);
}

/** Walks up to the directory holding `.git` (a dir, or a file in a worktree): no git process needed. */
function gitTop(from: string): string | null {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, ".git"))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

function statOrNull(p: string) {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

export const pad2 = (n: number) => String(n).padStart(2, "0");
export const pad3 = (n: number) => String(n).padStart(3, "0");

export function rootPaths(root: string) {
  const claude = join(root, ".claude");
  return {
    root,
    claude,
    locks: join(claude, "locks"),
    runs: join(claude, "pipeline-runs"),
    defs: join(claude, "pipelines"),
  };
}

export function runPaths(root: string, session: string) {
  const dir = join(root, ".claude", "pipeline-runs", session);
  return {
    dir,
    plan: join(dir, "plan.json"),
    state: join(dir, "state.json"),
    events: join(dir, "events.jsonl"),
    progress: join(dir, `progress-${session}.md`),
    log: join(dir, "engine.log"),
    lock: join(root, ".claude", "locks", `${session}.lock`),
  };
}
export type RunPaths = ReturnType<typeof runPaths>;

export const stageDirName = (index: number, id: string) => `stage-${pad2(index)}-${id}`;
export const parallelDirName = (index: number, id: string) => `parallel-${pad2(index)}-${id}`;
/** Where run `run` of a plan keeps its node folders: the run directory itself unless the plan runs several times. */
export const nodesDir = (paths: RunPaths, run: number, runs: number) => (runs > 1 ? join(paths.dir, `run-${pad2(run)}`) : paths.dir);
export const iterationDir = (stageDir: string, iteration: number) => join(stageDir, "iterations", pad3(iteration));
