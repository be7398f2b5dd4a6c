// Working out an iteration's inputs: the outputs of earlier nodes, of earlier iterations, of parallel
// providers, and the files given at start.
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { InputsPlan, ParallelPlan, Plan } from "../defs/plan.ts";
import { iterationDir, nodesDir, parallelDirName, stageDirName, type RunPaths } from "../store/paths.ts";
import type { StageRun } from "./host.ts";
import { progressKey, type StageProgress } from "./replay.ts";

export interface FromParallel {
  block: string;
  stage: string;
  manifest: string;
  providers: Record<string, { output: string | null; outputs: string[]; status: string; iterations: number; worktree: string | null }>;
}

export interface Inputs {
  from_stage: Record<string, string[]>;
  from_previous_iterations: string[];
  from_initial: string[];
  from_parallel: FromParallel[];
}

/** What the inputs are worked out from: the plan, the run directory, and each stage's progress. */
export interface InputWorld {
  plan: Plan;
  paths: RunPaths;
  progress(key: string): StageProgress | undefined;
}

/** The document a stage leaves for later nodes: its output_path (${SESSION_NAME} expanded), else output.md. */
export function finalOutput(plan: Plan, sr: Pick<StageRun, "stage" | "stageDir" | "cwd">): string {
  const p = sr.stage.output_path;
  if (!p) return join(sr.stageDir, "output.md");
  const rendered = p.replaceAll("${SESSION_NAME}", plan.session).replaceAll("${SESSION}", plan.session);
  return isAbsolute(rendered) ? rendered : resolve(sr.cwd, rendered);
}

export function inputsFor(w: InputWorld, sr: StageRun, iteration: number): Inputs {
  const { plan } = w;
  const inp = sr.stage.inputs;
  const from_stage: Record<string, string[]> = {};
  if (inp.from) {
    // In a parallel block `from` names an earlier stage of the block, else a top-level node.
    const block = sr.provider.id ? (plan.nodes[sr.node] as ParallelPlan) : null;
    const inBlock = block ? block.stages.findIndex((s) => s.id === inp.from) : -1;
    const idx = inBlock >= 0 ? inBlock : plan.nodes.findIndex((n) => n.id === inp.from);
    const from = inBlock >= 0 ? block!.stages[idx] : plan.nodes[idx];
    if (from && from.kind === "stage") {
      const parent = inBlock >= 0 ? join(sr.stageDir, "..") : nodesDir(w.paths, sr.run, plan.runs ?? 1);
      const dir = join(parent, stageDirName(idx, from.id));
      const final = finalOutput(plan, { stage: from, stageDir: dir, cwd: inBlock >= 0 ? sr.cwd : plan.root });
      from_stage[from.id] = stageOutputs(dir, final, inp.select);
    }
  }
  const from_parallel = inp.from_parallel.map((fp) => parallelInputs(w, sr.run, fp));
  const first = plan.nodes.findIndex((n) => n.kind === "stage") === sr.node && !sr.provider.id;
  return {
    from_stage,
    from_previous_iterations: previousOutputs(sr.stageDir, iteration),
    from_initial: inp.from_initial || first || plan.type === "loop" ? plan.inputs : [],
    from_parallel,
  };
}

/** The paths ${INPUTS} lists: earlier nodes' outputs, parallel providers' latest outputs, the initial files. */
export function inputPaths(inputs: Inputs): string[] {
  return [
    ...Object.values(inputs.from_stage).flat(),
    ...inputs.from_parallel.flatMap((fp) => Object.values(fp.providers).flatMap((p) => (p.output ? [p.output] : []))),
    ...inputs.from_initial,
  ];
}

/** A block's outputs in the same run as the stage that reads them. */
function parallelInputs(w: InputWorld, run: number, fp: InputsPlan["from_parallel"][number]): FromParallel {
  const idx = w.plan.nodes.findIndex((n) => n.id === fp.block);
  const block = w.plan.nodes[idx] as ParallelPlan;
  const dir = join(nodesDir(w.paths, run, w.plan.runs ?? 1), parallelDirName(idx, block.id));
  const sIdx = block.stages.findIndex((s) => s.id === fp.stage);
  const stage = block.stages[sIdx]!;
  const providers: FromParallel["providers"] = {};
  for (const p of block.providers) {
    if (fp.providers && !fp.providers.includes(p.id)) continue;
    const pdir = join(dir, "providers", p.id);
    const sdir = join(pdir, stageDirName(sIdx, stage.id));
    const outs = stageOutputs(sdir, join(sdir, "output.md"), fp.select);
    const st = w.progress(progressKey(run, idx, p.id, stage.id));
    providers[p.id] = {
      output: outs[outs.length - 1] ?? null,
      outputs: outs,
      status: st?.done ? "complete" : "incomplete",
      iterations: st?.completed ?? 0,
      worktree: existsSync(join(pdir, "worktree")) ? join(pdir, "worktree") : null,
    };
  }
  return { block: block.id, stage: stage.id, manifest: join(dir, "manifest.json"), providers };
}

/** A finished stage's document: the agent's, or else its last iteration's output standing for it. */
export function settleFinalOutput(plan: Plan, sr: Pick<StageRun, "stage" | "stageDir" | "cwd">): string {
  const final = finalOutput(plan, sr);
  const outputs = iterationOutputs(sr.stageDir);
  if (!existsSync(final) && outputs.length) {
    mkdirSync(dirname(final), { recursive: true });
    copyFileSync(outputs[outputs.length - 1]!, final);
  }
  return final;
}

/** The iteration output files of a stage dir, oldest first (crashed attempts' dirs excluded). */
export function iterationOutputs(stageDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(stageDir, "iterations"));
  } catch {
    return [];
  }
  return names
    .filter((n) => /^\d{3}$/.test(n))
    .sort()
    .map((n) => join(stageDir, "iterations", n, "output.md"))
    .filter((p) => existsSync(p));
}

function previousOutputs(stageDir: string, iteration: number): string[] {
  const res: string[] = [];
  for (let i = 1; i < iteration; i++) {
    const p = join(iterationDir(stageDir, i), "output.md");
    if (existsSync(p)) res.push(p);
  }
  return res;
}

/** A finished node's outputs for a later node: its final output, or every iteration's with select all. */
function stageOutputs(stageDir: string, final: string, select: InputsPlan["select"]): string[] {
  if (select === "all") return [...iterationOutputs(stageDir), ...(existsSync(final) ? [final] : [])];
  if (existsSync(final)) return [final];
  const all = iterationOutputs(stageDir);
  return all.length ? [all[all.length - 1]!] : [];
}
