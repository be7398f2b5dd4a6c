import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { InputsPlan, Plan, StagePlan } from "../defs/plan.ts";
import { iterationDir } from "../store/paths.ts";

export interface ContextPaths {
  session_dir: string;
  stage_dir: string;
  progress: string;
  status: string;
  output: string;
  iteration_output: string;
}

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

/** context.json: everything an iteration is given (DESIGN §5). */
export function buildContext(args: {
  plan: Plan;
  stage: StagePlan;
  index: number;
  iteration: number;
  provider: string | null;
  paths: ContextPaths;
  inputs: Inputs;
  context: string | null;
}) {
  const { plan, stage, iteration } = args;
  return {
    session: plan.session,
    pipeline: plan.type === "pipeline" ? plan.target.name : null,
    type: plan.type,
    stage: { id: stage.id, index: args.index, template: stage.stage, provider: args.provider },
    iteration,
    paths: args.paths,
    inputs: args.inputs,
    limits: { max_iterations: stage.termination.max, remaining: Math.max(0, stage.termination.max - iteration) },
    termination: { type: stage.termination.type, min_iterations: stage.termination.min_iterations, consensus: stage.termination.consensus },
    commands: plan.commands,
    context: args.context,
  };
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

export function previousOutputs(stageDir: string, iteration: number): string[] {
  const res: string[] = [];
  for (let i = 1; i < iteration; i++) {
    const p = join(iterationDir(stageDir, i), "output.md");
    if (existsSync(p)) res.push(p);
  }
  return res;
}

/** A finished node's outputs for a later node: its final output, or every iteration's with select all. */
export function stageOutputs(stageDir: string, finalOutput: string, select: InputsPlan["select"]): string[] {
  if (select === "all") return [...iterationOutputs(stageDir), ...(existsSync(finalOutput) ? [finalOutput] : [])];
  if (existsSync(finalOutput)) return [finalOutput];
  const all = iterationOutputs(stageDir);
  return all.length ? [all[all.length - 1]!] : [];
}
