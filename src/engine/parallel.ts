// A parallel block: providers side by side, each running the block's stages in order in its own
// directory (and git worktree); manifest.json lists every provider's outcome for later nodes.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ParallelPlan } from "../defs/plan.ts";
import { errorMessage } from "../lib/errors.ts";
import { ensureDir, writeJsonAtomic } from "../store/fsx.ts";
import { parallelDirName } from "../store/paths.ts";
import { runOf, type Host, type StageEnd } from "./host.ts";
import { progressKey } from "./replay.ts";
import { providerDir, providerStageRun, runNodesDir } from "./view.ts";
import { prepareWorktree, worktreeCommits, type Worktree } from "./worktree.ts";

interface ProviderResult {
  status: "running" | "complete" | "failed" | "killed" | "cancelled";
  error: string | null;
  worktree: Worktree | null;
  stages: Record<string, { status: string; iterations: number; reason: string; output: string }>;
}

export async function runParallel(h: Host, run: number, i: number, node: ParallelPlan): Promise<StageEnd> {
  const dir = ensureDir(join(runNodesDir(h.plan, h.paths, run), parallelDirName(i, node.id)));
  const results: Record<string, ProviderResult> = {};
  const siblings = new AbortController();
  const runOne = async (pi: number) => {
    const p = node.providers[pi]!;
    const pdir = ensureDir(providerDir(h.plan, h.paths, run, i, p.id));
    const progress = join(pdir, "progress.md");
    if (!existsSync(progress)) writeFileSync(progress, `# Progress: ${h.plan.session} / ${node.id} / ${p.id}\n\n`);
    const res: ProviderResult = (results[p.id] = { status: "running", error: null, worktree: null, stages: {} });
    if (node.isolation === "worktree") {
      try {
        // Each run works on a branch of its own (a branch is checked out in one worktree at a time).
        res.worktree = await prepareWorktree(h.plan.root, join(pdir, "worktree"), `sessions/${h.plan.session}/${node.id}-${p.id}${run > 1 ? `-run${run}` : ""}`);
      } catch (e) {
        res.status = "failed";
        res.error = `could not create a git worktree: ${errorMessage(e)}`;
        return;
      }
    }
    h.event("parallel_provider_start", { node: i, id: node.id, iteration: 0, provider: p.id, ...runOf(run) }, { worktree: res.worktree?.path ?? null });
    for (let s = 0; s < node.stages.length; s++) {
      const sr = providerStageRun(h.plan, h.paths, run, i, pi, s, res.worktree?.path ?? h.plan.root);
      if (node.fail_fast) sr.cancel = siblings.signal;
      const end = await h.runStage(sr);
      res.stages[sr.stage.id] = {
        status: end.ok ? "complete" : "failed",
        iterations: end.iterations,
        reason: end.ok ? end.reason : end.error.message,
        output: join(sr.stageDir, "output.md"),
      };
      if (end.ok) {
        h.markStageDone(progressKey(run, i, p.id, sr.stage.id), end.iterations);
        continue;
      }
      res.status = end.error.kind !== "signal" ? "failed" : h.killed ? "killed" : "cancelled";
      res.error = end.error.message;
      if (node.fail_fast && res.status === "failed") siblings.abort();
      break;
    }
    if (res.status === "running") res.status = "complete";
    if (res.worktree) res.worktree = { ...res.worktree, commits: await worktreeCommits(res.worktree) };
    h.event("parallel_provider_complete", { node: i, id: node.id, iteration: 0, provider: p.id, ...runOf(run) }, { status: res.status, error: res.error });
  };
  await Promise.all(node.providers.map((_, pi) => runOne(pi)));
  writeJsonAtomic(join(dir, "manifest.json"), {
    block: { id: node.id, index: i, stages: node.stages.map((s) => s.id), isolation: node.isolation },
    session: h.plan.session,
    completed_at: new Date().toISOString(),
    providers: Object.fromEntries(
      node.providers.map((p) => {
        const r = results[p.id];
        return [p.id, { provider: p.provider.name, model: p.provider.model, status: r?.status ?? "failed", error: r?.error ?? null, worktree: r?.worktree ?? null, stages: r?.stages ?? {} }];
      }),
    ),
  });
  const failed = node.providers.filter((p) => results[p.id]?.status !== "complete");
  const total = Object.values(results).reduce((sum, r) => sum + Object.values(r.stages).reduce((a, x) => a + x.iterations, 0), 0);
  if (h.killed) return { ok: false, error: { message: h.stopReason, kind: "signal", stage: node.id, iteration: null }, iterations: total };
  if (failed.length === node.providers.length || (node.fail_fast && failed.length)) {
    const why = failed.map((p) => `${p.id}: ${results[p.id]?.error ?? results[p.id]?.status}`).join("; ");
    return { ok: false, error: { message: `parallel block ${node.id} failed (${why})`, kind: "engine", stage: node.id, iteration: null }, iterations: total };
  }
  const note = failed.length ? ` (${failed.map((p) => p.id).join(", ")} failed; see manifest.json)` : "";
  return { ok: true, reason: `${node.providers.length - failed.length}/${node.providers.length} providers complete${note}`, iterations: total };
}
