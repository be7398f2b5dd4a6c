// What iteration N of a stage sees: its directory, file paths, inputs, template values, rendered
// prompt, context.json and PIPELINE_* environment. The engine, --dry-run, the judge and the queue
// check all ask here, so what is shown and what runs cannot differ.
import { join } from "node:path";
import { modernModel } from "../defs/legacy.ts";
import type { Plan, StagePlan } from "../defs/plan.ts";
import { renderTemplate, type TemplateValues } from "../defs/template.ts";
import { iterationDir, nodesDir, parallelDirName, stageDirName, type RunPaths } from "../store/paths.ts";
import type { StageRun } from "./host.ts";
import { finalOutput, inputPaths, inputsFor, type InputWorld, type Inputs } from "./inputs.ts";

export interface ViewWorld extends InputWorld {
  paths: RunPaths;
  /** A context given while the session ran (resume --context), which replaces the definition's. */
  contextOverride: string | null;
}

export interface IterationView {
  dir: string;
  files: { ctx: string; prompt: string; status: string; output: string };
  /** The stage's final document (${OUTPUT}). */
  final: string;
  inputs: Inputs;
  vars: TemplateValues;
  prompt: string;
  context: ReturnType<typeof buildContext>;
  env: Record<string, string>;
}

/** Where run `run` of the plan keeps its node folders. */
export const runNodesDir = (plan: Plan, paths: RunPaths, run: number) => nodesDir(paths, run, plan.runs ?? 1);

/** A top-level stage node's run. */
export function stageRun(plan: Plan, paths: RunPaths, run: number, node: number): StageRun {
  const stage = plan.nodes[node] as StagePlan;
  const stageDir = join(runNodesDir(plan, paths, run), stageDirName(node, stage.id));
  return { run, node, stage, provider: { id: null, plan: stage.provider }, stageDir, progress: paths.progress, cwd: plan.root, index: node };
}

/** Where a parallel provider keeps its progress, its stages and (with isolation) its worktree. */
export const providerDir = (plan: Plan, paths: RunPaths, run: number, node: number, provider: string) =>
  join(runNodesDir(plan, paths, run), parallelDirName(node, plan.nodes[node]!.id), "providers", provider);

/**
 * Stage `s` of a parallel block as provider `p` runs it: the block's provider, with the stage's
 * model (as this provider spells it) when the provider names none, and the provider's own inputs
 * when it has them for this stage.
 */
export function providerStageRun(plan: Plan, paths: RunPaths, run: number, node: number, p: number, s: number, cwd: string): StageRun {
  const block = plan.nodes[node]!;
  if (block.kind !== "parallel") throw new Error(`node ${node} is not a parallel block`);
  const prov = block.providers[p]!;
  const stage = block.stages[s]!;
  const pdir = providerDir(plan, paths, run, node, prov.id);
  const own = prov.provider;
  const fallback = own.model === null ? modernModel(own.name, stage.provider.model, stage.provider.effort ?? null) : null;
  const provider = fallback ? { ...own, model: fallback.model, effort: own.effort ?? fallback.effort } : own;
  const inputs = prov.inputs?.[stage.id] ?? stage.inputs;
  return { run, node, stage: { ...stage, provider, inputs }, provider: { id: prov.id, plan: provider }, stageDir: join(pdir, stageDirName(s, stage.id)), progress: join(pdir, "progress.md"), cwd, index: s };
}

/** The directory of stage `id` of node `node` in run `run` (as `provider` runs it, in a parallel block). */
export function stageDirOf(plan: Plan, paths: RunPaths, run: number, node: number, provider: string | null, id: string): string {
  const n = plan.nodes[node];
  if (n?.kind !== "parallel") return join(runNodesDir(plan, paths, run), stageDirName(node, id));
  return join(providerDir(plan, paths, run, node, provider ?? ""), stageDirName(n.stages.findIndex((s) => s.id === id), id));
}

/** What the first iteration of a new session will see (what --dry-run shows). */
export function firstIteration(plan: Plan, paths: RunPaths): IterationView {
  const first = plan.nodes[0]!;
  const sr = first.kind === "stage" ? stageRun(plan, paths, 1, 0) : providerStageRun(plan, paths, 1, 0, 0, 0, plan.root);
  return iterationView({ plan, paths, progress: () => undefined, contextOverride: null }, sr, 1);
}

export function iterationView(w: ViewWorld, sr: StageRun, n: number): IterationView {
  const { plan } = w;
  const dir = iterationDir(sr.stageDir, n);
  const files = { ctx: join(dir, "context.json"), prompt: join(dir, "prompt.md"), status: join(dir, "status.json"), output: join(dir, "output.md") };
  const final = finalOutput(plan, sr);
  const inputs = inputsFor(w, sr, n);
  const vars: TemplateValues = {
    CTX: files.ctx,
    STATUS: files.status,
    PROGRESS: sr.progress,
    OUTPUT: final,
    ITERATION: String(n),
    INDEX: String(n - 1),
    SESSION_NAME: plan.session,
    CONTEXT: w.contextOverride ?? sr.stage.context ?? plan.context ?? "",
    INPUTS: inputPaths(inputs).join("\n"),
  };
  const context = buildContext(plan, sr, n, {
    paths: { session_dir: w.paths.dir, stage_dir: sr.stageDir, progress: sr.progress, status: files.status, output: final, iteration_output: files.output },
    inputs,
    context: vars.CONTEXT || null,
  });
  const env: Record<string, string> = {
    PIPELINE_SESSION: plan.session,
    PIPELINE_STAGE: sr.stage.id,
    PIPELINE_ITERATION: String(n),
    PIPELINE_CTX: files.ctx,
    PIPELINE_STATUS: files.status,
    PIPELINE_PROGRESS: sr.progress,
    PIPELINE_OUTPUT: final,
    PIPELINE_ROOT: plan.root,
    ...(sr.provider.id ? { PIPELINE_PROVIDER: sr.provider.id } : {}),
  };
  return { dir, files, final, inputs, vars, prompt: renderTemplate(sr.stage.prompt, vars), context, env };
}

/** context.json: everything an iteration is given. */
function buildContext(plan: Plan, sr: StageRun, iteration: number, given: { paths: Record<string, string>; inputs: Inputs; context: string | null }) {
  const t = sr.stage.termination;
  return {
    session: plan.session,
    pipeline: plan.type === "pipeline" ? plan.target.name : null,
    type: plan.type,
    stage: { id: sr.stage.id, index: sr.index, template: sr.stage.stage, provider: sr.provider.id },
    run: { index: sr.run, of: plan.runs ?? 1 },
    iteration,
    paths: given.paths,
    inputs: given.inputs,
    limits: { max_iterations: t.max, remaining: Math.max(0, t.max - iteration) },
    termination: { type: t.type, min_iterations: t.min_iterations, consensus: t.consensus },
    commands: plan.commands,
    context: given.context,
  };
}
