// What an iteration did to the git repository it ran in (the root, or a parallel provider's
// worktree): HEAD before and after, the commits made, the files and lines they changed.
import type { GitEntry } from "../store/state.ts";

/** One git call may take this long (a huge repository, a held lock): then it counts as no answer. */
const GIT_TIMEOUT_MS = 10_000;
/** At most this many commits and file paths are kept per iteration; the counts stay exact. */
const CAP = 200;
/** git's empty tree, to diff the first commit of an empty repository against. */
const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/** git's stdout, or null when it failed or timed out. Argv only, no shell; never takes optional locks. */
async function git(cwd: string, args: string[]): Promise<string | null> {
  try {
    const p = Bun.spawn(["git", ...args], {
      cwd,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "ignore",
      timeout: GIT_TIMEOUT_MS,
      env: { ...process.env, GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0" },
    });
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    return code === 0 ? out : null;
  } catch {
    return null;
  }
}

/** Before an iteration: whether `cwd` is in a work tree, and its HEAD (null in a repository without commits). */
export interface GitMark {
  repo: boolean;
  head: string | null;
}

export async function gitMark(cwd: string): Promise<GitMark> {
  if ((await git(cwd, ["rev-parse", "--is-inside-work-tree"]))?.trim() !== "true") return { repo: false, head: null };
  return { repo: true, head: (await git(cwd, ["rev-parse", "-q", "--verify", "HEAD"]))?.trim() || null };
}

/** After an iteration: what its commits changed since `before` (null outside a repository). */
export async function gitChanges(cwd: string, before: GitMark): Promise<GitEntry | null> {
  if (!before.repo) return null;
  const after = (await git(cwd, ["rev-parse", "-q", "--verify", "HEAD"]))?.trim() || null;
  const entry: GitEntry = { head_before: before.head, head_after: after, commits: [], files: [], files_changed: 0, lines_added: 0, lines_removed: 0 };
  if (!after || after === before.head) return entry;
  const log = await git(cwd, ["log", "--no-color", `-n${CAP}`, "--format=%H%x09%s", ...(before.head ? [`${before.head}..${after}`] : [after])]);
  for (const line of (log ?? "").split("\n")) {
    const tab = line.indexOf("\t");
    if (tab > 0) entry.commits.push({ hash: line.slice(0, tab), subject: line.slice(tab + 1) });
  }
  // -z: paths as they are (no quoting); --no-renames: one path per record.
  const stat = await git(cwd, ["diff", "--no-color", "--no-renames", "--numstat", "-z", before.head ?? EMPTY_TREE, after]);
  for (const rec of (stat ?? "").split("\0")) {
    const m = /^(\d+|-)\t(\d+|-)\t(.+)$/s.exec(rec);
    if (!m) continue;
    entry.files_changed++;
    // Binary files count as changed, with no lines.
    entry.lines_added += m[1] === "-" ? 0 : Number(m[1]);
    entry.lines_removed += m[2] === "-" ? 0 : Number(m[2]);
    if (entry.files.length < CAP) entry.files.push(m[3]!);
  }
  return entry;
}
