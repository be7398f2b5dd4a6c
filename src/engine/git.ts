// What an iteration did to the git repository it ran in (the root, or a parallel provider's
// worktree): HEAD before and after, the commits made, the files and lines they changed.
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
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
  const dirs = gitDirs(cwd);
  if (!dirs) return { repo: false, head: null };
  const head = headFromFiles(dirs);
  return { repo: true, head: head !== undefined ? head : await headFromGit(cwd) };
}

const headFromGit = async (cwd: string) => (await git(cwd, ["rev-parse", "-q", "--verify", "HEAD"]))?.trim() || null;

/**
 * The repository `cwd` is in, found as git does (a `.git` directory, or a `.git` file naming the
 * git dir of a worktree), and the common dir that holds its refs. Read from files so that an
 * iteration costs no git process unless it moved HEAD.
 */
function gitDirs(cwd: string): { gitDir: string; commonDir: string } | null {
  for (let d = resolve(cwd); ; d = dirname(d)) {
    const dot = join(d, ".git");
    try {
      const st = statSync(dot);
      const gitDir = st.isDirectory() ? dot : resolve(d, /^gitdir: (.+)$/m.exec(readFileSync(dot, "utf8"))?.[1]?.trim() ?? "");
      const common = join(gitDir, "commondir");
      return { gitDir, commonDir: existsSync(common) ? resolve(gitDir, readFileSync(common, "utf8").trim()) : gitDir };
    } catch {}
    if (dirname(d) === d) return null;
  }
}

/** HEAD's commit from the ref files: null for a branch without commits, undefined when only git can tell (reftable, an odd HEAD). */
function headFromFiles({ gitDir, commonDir }: { gitDir: string; commonDir: string }): string | null | undefined {
  const HASH = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
  try {
    const head = readFileSync(join(gitDir, "HEAD"), "utf8").trim();
    if (HASH.test(head)) return head;
    const ref = /^ref: (refs\/\S+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    for (const dir of [gitDir, commonDir]) {
      try {
        const hash = readFileSync(join(dir, ref), "utf8").trim();
        if (HASH.test(hash)) return hash;
      } catch {}
    }
    try {
      for (const line of readFileSync(join(commonDir, "packed-refs"), "utf8").split("\n")) {
        const [hash, name] = line.split(" ");
        if (name === ref && HASH.test(hash ?? "")) return hash!;
      }
    } catch {}
    return existsSync(join(commonDir, "reftable")) ? undefined : null;
  } catch {
    return undefined;
  }
}

/** After an iteration: what its commits changed since `before` (null outside a repository). */
export async function gitChanges(cwd: string, before: GitMark): Promise<GitEntry | null> {
  if (!before.repo) return null;
  const dirs = gitDirs(cwd);
  const fromFiles = dirs ? headFromFiles(dirs) : undefined;
  const after = fromFiles !== undefined ? fromFiles : await headFromGit(cwd);
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
