import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ParallelPlan, ProviderPlan } from "../defs/plan.ts";
import { errorMessage } from "../lib/errors.ts";
import { ensureDir, writeJsonAtomic } from "../store/fsx.ts";
import { parallelDirName, stageDirName } from "../store/paths.ts";
import type { Engine, StageEnd } from "./engine.ts";
import { progressKey } from "./replay.ts";
import { prepareWorktree, worktreeCommits, type Worktree } from "./worktree.ts";

/**
 * A parallel block: providers side by side, each running the block's stages in order in its own
 * directory (and git worktree); manifest.json lists every provider's outcome for later nodes.
 */
export async function runParallel(engine: Engine, i: number, node: ParallelPlan): Promise<StageEnd> {
  const dir = ensureDir(join(engine.paths.dir, parallelDirName(i, node.id)));
  const resumeFile = join(dir, "resume.json");
  const results: Record<string, { status: string; error: string | null; worktree: Worktree | null; stages: Record<string, unknown> }> = {};
  const siblings = new AbortController();
  const writeResume = () => writeJsonAtomic(resumeFile, { block: node.id, updated_at: new Date().toISOString(), providers: results });
  const runOne = async (p: ParallelPlan["providers"][number]) => {
    const pdir = ensureDir(join(dir, "providers", p.id));
    const progress = join(pdir, "progress.md");
    if (!existsSync(progress)) writeFileSync(progress, `# Progress: ${engine.plan.session} / ${node.id} / ${p.id}\n\n`);
    const res: (typeof results)[string] = (results[p.id] = { status: "running", error: null, worktree: null, stages: {} });
    let wt: Worktree | null = null;
    if (node.isolation === "worktree") {
      try {
        wt = await prepareWorktree(engine.plan.root, join(pdir, "worktree"), `sessions/${engine.plan.session}/${node.id}-${p.id}`);
        res.worktree = wt;
      } catch (e) {
        res.status = "failed";
        res.error = `could not create a git worktree: ${errorMessage(e)}`;
        writeResume();
        return;
      }
    }
    engine.event("parallel_provider_start", { node: i, id: node.id, iteration: 0, provider: p.id }, { worktree: wt?.path ?? null });
    writeResume();
    for (let s = 0; s < node.stages.length; s++) {
      const stage = node.stages[s]!;
      const plan: ProviderPlan = { ...p.provider, model: stage.provider.model && !p.provider.model ? stage.provider.model : p.provider.model };
      const end = await engine.runStage({
        node: i,
        stage: { ...stage, provider: plan },
        provider: { id: p.id, plan },
        stageDir: join(pdir, stageDirName(s, stage.id)),
        progress,
        cwd: wt?.path ?? engine.plan.root,
        index: s,
        cancel: node.fail_fast ? siblings.signal : undefined,
      });
      res.stages[stage.id] = {
        status: end.ok ? "complete" : "failed",
        iterations: end.iterations,
        reason: end.ok ? end.reason : end.error.message,
        output: join(pdir, stageDirName(s, stage.id), "output.md"),
      };
      if (end.ok) engine.markStageDone(progressKey(i, p.id, stage.id), end.iterations);
      writeResume();
      if (!end.ok) {
        res.status = end.error.kind !== "signal" ? "failed" : engine.killed ? "killed" : "cancelled";
        res.error = end.error.message;
        if (node.fail_fast && res.status === "failed") siblings.abort();
        break;
      }
    }
    if (res.status === "running") res.status = "complete";
    if (wt) res.worktree = { ...wt, commits: await worktreeCommits(wt) };
    engine.event("parallel_provider_complete", { node: i, id: node.id, iteration: 0, provider: p.id }, { status: res.status, error: res.error });
    writeResume();
  };
  await Promise.all(node.providers.map(runOne));
  const manifest = {
    block: { id: node.id, index: i, stages: node.stages.map((s) => s.id), isolation: node.isolation },
    session: engine.plan.session,
    completed_at: new Date().toISOString(),
    providers: Object.fromEntries(
      node.providers.map((p) => [
        p.id,
        {
          provider: p.provider.name,
          model: p.provider.model,
          status: results[p.id]?.status ?? "failed",
          error: results[p.id]?.error ?? null,
          worktree: results[p.id]?.worktree ?? null,
          stages: results[p.id]?.stages ?? {},
        },
      ]),
    ),
  };
  writeJsonAtomic(join(dir, "manifest.json"), manifest);
  const failed = node.providers.filter((p) => results[p.id]?.status !== "complete");
  const total = Object.values(results).reduce((s, r) => s + Object.values(r.stages).reduce((a: number, x) => a + ((x as { iterations: number }).iterations ?? 0), 0), 0);
  if (engine.killed) return { ok: false, error: { message: engine.stopReason, kind: "signal", stage: node.id, iteration: null }, iterations: total };
  if (failed.length === node.providers.length || (node.fail_fast && failed.length)) {
    const why = failed.map((p) => `${p.id}: ${results[p.id]?.error ?? results[p.id]?.status}`).join("; ");
    return { ok: false, error: { message: `parallel block ${node.id} failed (${why})`, kind: "engine", stage: node.id, iteration: null }, iterations: total };
  }
  const note = failed.length ? ` (${failed.map((p) => p.id).join(", ")} failed; see manifest.json)` : "";
  return { ok: true, reason: `${node.providers.length - failed.length}/${node.providers.length} providers complete${note}`, iterations: total };
}
