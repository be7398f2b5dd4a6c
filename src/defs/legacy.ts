// Old spellings (the bash tool's, and earlier versions') turned into the modern shape in one pass,
// each with a hint naming the modern spelling: the resolver, the catalog and lint see only the modern shape.
import type { Diagnostic } from "./diagnostics.ts";
import { fieldOf, lineOf, type YamlFile } from "./load.ts";
import {
  COMPLETION_ALIASES,
  EFFORTS,
  ProviderName,
  type Effort,
  type InputsDef,
  type ParallelNodeDef,
  type PipelineDef,
  type StageDef,
  type StageNodeDef,
  type TerminationDef,
} from "./schema.ts";
import * as v from "valibot";

type Path = (string | number)[];
type TerminationType = NonNullable<TerminationDef["type"]>;

export type Termination = Omit<TerminationDef, "iterations">;
export type Stage = Omit<StageDef, "completion" | "check_before" | "min_iterations" | "consensus" | "output_parse" | "termination"> & {
  termination: Termination & { type: TerminationType };
};
export type StageNode = Omit<StageNodeDef, "name" | "loop" | "termination"> & { id?: string; termination?: Termination };
export interface ParallelProvider {
  id: string;
  provider: v.InferOutput<typeof ProviderName>;
  model?: string;
  effort?: Effort;
  command?: string;
  inputs?: InputsDef;
}
export type ParallelNode = Omit<ParallelNodeDef, "name" | "parallel"> & {
  id?: string;
  parallel: { providers: ParallelProvider[]; stages: StageNode[]; isolation?: "worktree" | "none"; fail_fast: boolean };
};
export type Pipeline = Omit<PipelineDef, "stages" | "version" | "nodes"> & { nodes?: unknown[]; key: "nodes" | "stages" };

function hint(out: Diagnostic[], y: YamlFile, path: Path, message: string): void {
  out.push({ level: "hint", file: y.file, message, line: lineOf(y, path, true), field: fieldOf(path) });
}

function termination(t: TerminationDef | undefined, y: YamlFile, base: Path, out: Diagnostic[], iterationsHint: string): Termination | undefined {
  if (!t) return undefined;
  const { iterations, ...rest } = t;
  if (iterations === undefined) return rest;
  hint(out, y, [...base, "iterations"], iterationsHint);
  return { ...rest, max: rest.max ?? iterations };
}

/** A stage.yaml's definition: `completion:`, top-level `min_iterations`/`consensus`, `termination.iterations`, and ignored fields. */
export function modernStage(def: StageDef, y: YamlFile, out: Diagnostic[]): Stage {
  const { completion, check_before, min_iterations, consensus, output_parse, termination: t, ...rest } = def;
  if (completion) hint(out, y, ["completion"], `'completion: ${completion}' is the old spelling of 'termination.type'`);
  if (check_before !== undefined) hint(out, y, ["check_before"], "'check_before' is no longer needed: queue stages always check before each iteration");
  if (output_parse !== undefined) hint(out, y, ["output_parse"], "'output_parse' is ignored: decisions come from the agent's status.json");
  if (min_iterations !== undefined) hint(out, y, ["min_iterations"], "top-level 'min_iterations' is the old spelling of 'termination.min_iterations'");
  if (consensus !== undefined) hint(out, y, ["consensus"], "top-level 'consensus' is the old spelling of 'termination.consensus'");
  const modern = termination(t, y, ["termination"], out, "'termination.iterations' is the old spelling of 'termination.max'") ?? {};
  const type = modern.type ?? (completion ? (COMPLETION_ALIASES as Record<string, TerminationType>)[completion] ?? (completion as TerminationType) : "fixed");
  return {
    ...rest,
    termination: { ...modern, type, min_iterations: modern.min_iterations ?? min_iterations, consensus: modern.consensus ?? consensus },
  };
}

/** A pipeline file: `stages:` for `nodes:`, and the ignored `version`. */
export function modernPipeline(def: PipelineDef, y: YamlFile, out: Diagnostic[]): Pipeline {
  const { stages, version, nodes, ...rest } = def;
  if (version !== undefined) hint(out, y, ["version"], "'version' is ignored");
  if (nodes && stages) out.push({ level: "error", file: y.file, message: "give either nodes or stages, not both", line: lineOf(y, ["stages"], true), field: "stages" });
  else if (stages) hint(out, y, ["stages"], "'stages:' is the old spelling of 'nodes:'");
  return { ...rest, nodes: nodes ?? stages, key: nodes ? "nodes" : "stages" };
}

/** A stage node (top-level, or a stage of a parallel block): `name:` for `id:`, `loop:` for `stage:`. */
export function modernStageNode(def: StageNodeDef, y: YamlFile, path: Path, out: Diagnostic[], hints = true): StageNode {
  const { name, loop, termination: t, ...rest } = def;
  if (hints && !def.id && name) hint(out, y, [...path, "name"], "a node's 'name:' is the old spelling of 'id:'");
  if (hints && loop) hint(out, y, [...path, "loop"], "a node's 'loop:' is the old spelling of 'stage:'");
  return {
    ...rest,
    id: def.id ?? name,
    stage: def.stage ?? loop,
    termination: termination(t, y, [...path, "termination"], out, "'termination.iterations' is the old spelling of 'termination.max' (or the node's 'runs')"),
  };
}

/** A parallel block: `failure_mode:` for `fail_fast:`, and provider entries as names or objects whose `name:` is an id or a provider. */
export function modernParallelNode(def: ParallelNodeDef, y: YamlFile, path: Path, out: Diagnostic[]): ParallelNode {
  const { name, parallel, ...rest } = def;
  if (!def.id && name) hint(out, y, [...path, "name"], "a node's 'name:' is the old spelling of 'id:'");
  const { failure_mode, providers, stages, fail_fast, isolation } = parallel;
  const base = [...path, "parallel"];
  if (failure_mode !== undefined) hint(out, y, [...base, "failure_mode"], "'failure_mode' is the old spelling of 'fail_fast: true|false'");
  return {
    ...rest,
    id: def.id ?? name,
    parallel: {
      isolation,
      fail_fast: fail_fast ?? failure_mode === "fail_fast",
      stages: stages.map((s, i) => modernStageNode(s, y, [...base, "stages", i], out, false)),
      providers: providers.map((entry, i): ParallelProvider => {
        if (typeof entry === "string") return { id: entry, provider: entry };
        // An id or an old `name:` that names a provider is also the provider: `{id: codex}` runs codex.
        const named = [entry.id, entry.name].find((n) => n !== undefined && v.is(ProviderName, n)) as ParallelProvider["provider"] | undefined;
        if (entry.name !== undefined && !entry.id) hint(out, y, [...base, "providers", i, "name"], "a provider's 'name:' is the old spelling of 'id:' (and of 'provider:' when it names one)");
        const provider = entry.provider ?? named ?? "claude";
        return { id: entry.id ?? entry.name ?? provider, provider, model: entry.model, effort: entry.effort, command: entry.command, inputs: entry.inputs };
      }),
    },
  };
}

/** The bash tool's claude model spellings → the claude CLI's aliases (full model ids pass through). */
export const CLAUDE_MODEL_ALIASES: Record<string, string> = {
  opus: "opus",
  "claude-opus": "opus",
  "opus-4": "opus",
  "opus-4.5": "opus",
  sonnet: "sonnet",
  "claude-sonnet": "sonnet",
  "sonnet-4": "sonnet",
  haiku: "haiku",
  "claude-haiku": "haiku",
};

export interface ModernModel {
  model: string | null;
  effort: Effort | null;
  problem?: { level: "error" | "warning" | "hint"; message: string };
}

/**
 * A model as its provider's CLI takes it: claude's old spellings become the CLI's aliases, and a
 * codex `model:effort` is split (the suffix beats an `effort:` field, being the more specific).
 * Only a word suffix is an effort: `gpt-oss:20b` (a local model's tag) passes through.
 */
export function modernModel(provider: string, model: string | null, effort: Effort | null): ModernModel {
  if (provider === "claude" && model !== null) {
    const alias = CLAUDE_MODEL_ALIASES[model];
    const res: ModernModel = { model: alias ?? model, effort: null };
    if (alias && alias !== model) res.problem = { level: "hint", message: `model ${model} is the bash tool's spelling: the claude CLI calls it ${alias}` };
    if (effort) res.problem = { level: "warning", message: `effort ${effort} applies only to codex: claude ignores it` };
    return res;
  }
  if (provider !== "codex") return { model, effort: null, ...(effort ? { problem: { level: "warning", message: `effort ${effort} applies only to codex: ${provider} ignores it` } } : {}) };
  const m = model ? /^(.+):([a-z]+)$/.exec(model) : null;
  if (!m) return { model, effort };
  if (!(EFFORTS as readonly string[]).includes(m[2]!)) {
    return { model, effort, problem: { level: "error", message: `unknown reasoning effort ${m[2]} in model ${model} (expected ${EFFORTS.join(", ")})` } };
  }
  return { model: m[1]!, effort: m[2] as Effort };
}
