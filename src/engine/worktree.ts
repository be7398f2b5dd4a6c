import { existsSync } from "node:fs";

export interface Worktree {
  path: string;
  branch: string;
  base: string;
  commits?: string[];
}

async function git(cwd: string, args: string[]): Promise<string> {
  const p = Bun.spawn(["git", ...args], { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`git ${args[0]}: ${err.trim().split("\n").pop()}`);
  return out.trim();
}

/**
 * git names a worktree's admin folder after the path's last part, "worktree" for every provider of
 * a block: two `worktree add` at once race for that name ("failed to read .git/worktrees/…/commondir").
 */
let adding: Promise<unknown> = Promise.resolve();
function oneAtATime<T>(run: () => Promise<T>): Promise<T> {
  const next = adding.then(run, run);
  adding = next.catch(() => {});
  return next;
}

/** A git worktree per parallel provider, on its own branch from HEAD; reused when resuming. */
export async function prepareWorktree(root: string, path: string, branch: string): Promise<Worktree> {
  const base = await git(root, ["rev-parse", "HEAD"]);
  if (existsSync(path)) return { path, branch, base: await git(path, ["merge-base", "HEAD", base]).catch(() => base) };
  const exists = await git(root, ["rev-parse", "--verify", "--quiet", `refs/heads/${branch}`]).then(() => true, () => false);
  await oneAtATime(() => git(root, exists ? ["worktree", "add", path, branch] : ["worktree", "add", "-b", branch, path, base]));
  return { path, branch, base };
}

export async function worktreeCommits(wt: Worktree): Promise<string[]> {
  try {
    const out = await git(wt.path, ["rev-list", `${wt.base}..HEAD`]);
    return out ? out.split("\n") : [];
  } catch {
    return [];
  }
}
