import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { prepareWorktree } from "../../../src/engine/worktree.ts";
import { tempRoot } from "../../helpers.ts";

// Every provider's worktree is providers/<id>/worktree: git's admin folder name is the same for all.
test("the worktrees of a block's providers, made at the same time, all exist", async () => {
  using root = tempRoot();
  const ids = Array.from({ length: 24 }, (_, i) => `p${i}`);
  const made = await Promise.allSettled(ids.map((id) => prepareWorktree(root.path, join(root.path, "providers", id, "worktree"), `b/${id}`)));
  expect(made.filter((m) => m.status === "rejected").map((m) => String((m as PromiseRejectedResult).reason))).toEqual([]);
  for (const id of ids) expect(existsSync(join(root.path, "providers", id, "worktree", ".git"))).toBe(true);
}, 20_000);
