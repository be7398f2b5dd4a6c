/** What an iteration did to its repository: HEAD read from the ref files as git reads it, commits and diff from git. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gitChanges, gitMark } from "../../../src/engine/git.ts";
import { tempRoot } from "../../helpers.ts";

const git = (cwd: string, ...args: string[]) => Bun.spawnSync(["git", "-c", "user.email=t@t", "-c", "user.name=t", ...args], { cwd }).stdout.toString().trim();
const commit = (cwd: string, file: string, text: string, msg: string) => {
  writeFileSync(join(cwd, file), text);
  git(cwd, "add", file);
  git(cwd, "commit", "-q", "-m", msg);
};

describe("git awareness", () => {
  test("outside a repository: nothing to record", async () => {
    using root = tempRoot({ git: false });
    const mark = await gitMark(root.path);
    expect(mark).toEqual({ repo: false, head: null });
    expect(await gitChanges(root.path, mark)).toBeNull();
  });

  test("HEAD from loose refs, packed refs and a subdirectory; commits, files and lines of what the iteration committed", async () => {
    using root = tempRoot();
    mkdirSync(join(root.path, "sub"));
    const before = await gitMark(join(root.path, "sub"));
    expect(before).toEqual({ repo: true, head: git(root.path, "rev-parse", "HEAD") });
    expect(await gitChanges(root.path, before)).toEqual({ head_before: before.head, head_after: before.head, commits: [], files: [], files_changed: 0, lines_added: 0, lines_removed: 0 });
    commit(root.path, "a.txt", "1\n2\n3\n", "add a");
    commit(root.path, "a.txt", "1\n3\n", "trim a");
    writeFileSync(join(root.path, "bin.dat"), Buffer.from([0, 1, 2, 0]));
    git(root.path, "add", "bin.dat");
    git(root.path, "commit", "-q", "-m", "binary | with a pipe");
    git(root.path, "pack-refs", "--all");
    const changes = await gitChanges(root.path, before);
    const head = git(root.path, "rev-parse", "HEAD");
    expect(changes).toMatchObject({ head_before: before.head, head_after: head, files: ["a.txt", "bin.dat"], files_changed: 2, lines_added: 2, lines_removed: 0 });
    expect(changes!.commits.map((c) => c.subject)).toEqual(["binary | with a pipe", "trim a", "add a"]);
    expect(changes!.commits[0]!.hash).toBe(head);
  });

  test("a worktree's own HEAD; a repository without commits has none until its first", async () => {
    using root = tempRoot();
    const wt = join(root.path, "wt");
    git(root.path, "worktree", "add", "-q", "-b", "side", wt);
    commit(wt, "w.txt", "w\n", "on side");
    expect((await gitMark(wt)).head).toBe(git(wt, "rev-parse", "HEAD"));
    expect((await gitMark(root.path)).head).toBe(git(root.path, "rev-parse", "HEAD"));
    using empty = tempRoot({ git: false });
    git(empty.path, "init", "-q", "-b", "main");
    const before = await gitMark(empty.path);
    expect(before).toEqual({ repo: true, head: null });
    commit(empty.path, "f.txt", "x\n", "first");
    expect(await gitChanges(empty.path, before)).toMatchObject({ head_before: null, commits: [{ subject: "first" }], files: ["f.txt"], lines_added: 1 });
  });
});
