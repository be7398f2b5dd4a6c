// Loading one definition file: a stage folder (stage.yaml and its prompt) or a pipeline file, parsed,
// validated, normalized to the modern shape, with the checks that need only that file.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { Diagnostic } from "./diagnostics.ts";
import { readSource, sibling, sourceLabel, type Source } from "./find.ts";
import { modernParallelNode, modernPipeline, modernStage, modernStageNode, type ParallelNode, type Stage, type StageNode, type Termination } from "./legacy.ts";
import { check, fieldOf, lineOf, parseYaml, type YamlFile } from "./load.ts";
import { closest } from "../lib/suggest.ts";
import { LEGACY_VARS, TEMPLATE_VARS, ParallelNodeSchema, PipelineSchema, StageNodeSchema, StageSchema, type BudgetDef, type HookDef } from "./schema.ts";
import { scanTemplate } from "./template.ts";

/** The queue a queue stage works when it names none (the bash tool's beads queue). */
export const DEFAULT_QUEUE = "bd ready --label=pipeline/${SESSION_NAME}";

export interface LoadedStage {
  name: string;
  def: Stage;
  prompt: string;
  source: Source;
  file: string;
  yaml: YamlFile;
}

export type RawNode = { kind: "stage"; id: string; def: StageNode; path: (string | number)[] } | { kind: "parallel"; id: string; def: ParallelNode; path: (string | number)[] };

export interface LoadedPipeline {
  name: string;
  source: Source;
  file: string;
  yaml: YamlFile;
  description: string | null;
  commands: Record<string, string>;
  inputs: string[];
  defaults: { provider?: "claude" | "codex" | "command"; model?: string };
  budget: BudgetDef | null;
  hooks: Partial<Record<HookKind, HookDef>>;
  /** How many times the whole pipeline runs. */
  runs: number;
  nodes: RawNode[];
  /** Ids of nodes whose own definition is broken (reported already): a later reference to one is no second error. */
  broken: Set<string>;
}

export type HookKind = "on_iteration" | "on_complete" | "on_fail";
export const HOOK_KINDS: readonly HookKind[] = ["on_iteration", "on_complete", "on_fail"];

type At = Partial<Diagnostic>;
export const problem = (out: Diagnostic[], level: Diagnostic["level"], file: string, message: string, at: At = {}) => out.push({ level, file, message, ...at });

function loadYaml(source: Source, out: Diagnostic[]): YamlFile | null {
  const file = sourceLabel(source);
  let text: string | null;
  try {
    text = readSource(source);
  } catch (e) {
    problem(out, "error", file, (e as Error).message);
    return null;
  }
  if (text === null) {
    problem(out, "error", file, "cannot read the file");
    return null;
  }
  const yaml = parseYaml(file, text, out);
  return yaml.doc ? yaml : null;
}

export function loadStageSource(source: Source, dirName: string, out: Diagnostic[]): LoadedStage | null {
  if (source.kind === "project" && !existsSync(source.path)) return incompleteFolder(source, out);
  const yaml = loadYaml(source, out);
  if (!yaml) return null;
  const parsed = check(StageSchema, yaml, yaml.data ?? {}, [], out);
  if (!parsed) {
    // The prompt's own problems are reported too: a typo in stage.yaml must not hide them.
    const named = (yaml.data as { prompt?: unknown } | null)?.prompt;
    findPrompt(source, typeof named === "string" ? named : undefined, out);
    return null;
  }
  const file = yaml.file;
  const def = modernStage(parsed, yaml, out);
  if (def.name && def.name !== dirName) {
    problem(out, "warning", file, `name ${def.name} differs from its folder ${dirName}; the folder name is used`, { line: lineOf(yaml, ["name"]), field: "name" });
  }
  // Only what the `termination:` block itself says (legacy top-level fields were accepted as they were).
  const own = parsed.termination && { ...parsed.termination, max: parsed.termination.max ?? parsed.termination.iterations };
  checkTermination(own, def.termination.type, yaml, ["termination"], out);
  if (def.termination.type === "queue" && !def.termination.command) {
    const key = parsed.termination?.type ? ["termination", "type"] : parsed.completion ? ["completion"] : ["termination"];
    problem(out, "hint", file, `queue stage without termination.command: it uses '${DEFAULT_QUEUE}'`, { line: lineOf(yaml, key), field: "termination.command" });
  }
  const found = findPrompt(source, def.prompt, out);
  if (found === undefined) {
    // With no `prompt:` field this points at the top of stage.yaml, where one would go.
    problem(out, "error", file, `prompt file ${def.prompt ?? "prompt.md"} not found beside stage.yaml`, { field: "prompt", line: lineOf(yaml, ["prompt"]) });
  }
  return found ? { name: dirName, def, prompt: found, source, file, yaml } : null;
}

/** The stage's prompt, linted: its text, null when it cannot be read (said in `out`), undefined when there is none. */
function findPrompt(source: Source, named: string | undefined, out: Diagnostic[]): string | null | undefined {
  const candidates = named ? [named, `${named}.md`, `prompts/${named}`, `prompts/${named}.md`] : ["prompt.md", "prompts/prompt.md"];
  for (const c of candidates) {
    const s = sibling(source, c);
    let prompt: string | null;
    try {
      prompt = readSource(s);
    } catch (e) {
      problem(out, "error", sourceLabel(s), (e as Error).message);
      return null;
    }
    if (prompt === null) continue;
    lintPrompt(prompt, sourceLabel(s), out);
    return prompt;
  }
  return undefined;
}

/** A folder under stages/ without stage.yaml: named as a stage, it is an invalid one (exit 2), not a missing one. */
function incompleteFolder(source: Source, out: Diagnostic[]): null {
  const folder = dirname(sourceLabel(source));
  const hasPrompt = ["prompt.md", "prompts/prompt.md"].some((c) => existsSync(join(dirname(source.path), c)));
  if (!hasPrompt) problem(out, "error", folder, "no prompt.md (or prompt: file)");
  problem(out, "error", folder, "no stage.yaml (a stage folder holds stage.yaml and prompt.md)");
  return null;
}

export function loadPipelineSource(source: Source, fallbackName: string, out: Diagnostic[]): LoadedPipeline | null {
  const yaml = loadYaml(source, out);
  if (!yaml) return null;
  const parsed = check(PipelineSchema, yaml, yaml.data ?? {}, [], out);
  if (!parsed) return null;
  const file = yaml.file;
  const def = modernPipeline(parsed, yaml, out);
  if (!def.nodes?.length) {
    problem(out, "error", file, "a pipeline needs at least one node", { line: lineOf(yaml, [def.key]), field: def.key });
    return null;
  }
  const nodes: RawNode[] = [];
  const ids = new Map<string, number>();
  const broken = new Set<string>();
  def.nodes.forEach((raw, i) => {
    const path = [def.key, i];
    const isParallel = raw !== null && typeof raw === "object" && "parallel" in raw;
    const node: RawNode | null = isParallel ? parallelNode(yaml, raw, path, out) : stageNode(yaml, raw, path, out);
    if (!node) {
      const r = raw as { id?: unknown; name?: unknown } | null;
      const id = r?.id ?? r?.name;
      if (typeof id === "string") broken.add(id);
      return;
    }
    const key = (raw as { id?: unknown }).id !== undefined ? "id" : "name";
    if (ids.has(node.id)) problem(out, "error", file, `duplicate node id ${node.id} (also node ${ids.get(node.id)})`, { line: lineOf(yaml, [...path, key]), field: `${fieldOf(path)}.id` });
    ids.set(node.id, i);
    nodes.push(node);
  });
  return { name: def.name ?? fallbackName, source, file, yaml, description: def.description ?? null, commands: def.commands ?? {}, inputs: def.inputs ?? [], defaults: def.defaults ?? {}, runs: def.runs ?? 1, budget: def.budget ?? null, hooks: { on_iteration: def.on_iteration, on_complete: def.on_complete, on_fail: def.on_fail }, nodes, broken };
}

function stageNode(yaml: YamlFile, raw: unknown, path: (string | number)[], out: Diagnostic[]): RawNode | null {
  const parsed = check(StageNodeSchema, yaml, raw, path, out);
  if (!parsed) return null;
  const def = modernStageNode(parsed, yaml, path, out);
  return def.id ? { kind: "stage", id: def.id, def, path } : needsId(yaml, path, out);
}

function parallelNode(yaml: YamlFile, raw: unknown, path: (string | number)[], out: Diagnostic[]): RawNode | null {
  const parsed = check(ParallelNodeSchema, yaml, raw, path, out);
  if (!parsed) return null;
  const def = modernParallelNode(parsed, yaml, path, out);
  return def.id ? { kind: "parallel", id: def.id, def, path } : needsId(yaml, path, out);
}

function needsId(yaml: YamlFile, path: (string | number)[], out: Diagnostic[]): null {
  problem(out, "error", yaml.file, "a node needs an id", { line: lineOf(yaml, path), field: `${fieldOf(path)}.id` });
  return null;
}

/** Unknown template variables are errors, legacy ones hints; `lineOffset` places an inline prompt in its file. */
export function lintPrompt(text: string, file: string, out: Diagnostic[], lineOffset = 0): void {
  const { unknown, legacy } = scanTemplate(text);
  for (const u of unknown) {
    const near = closest(u.name, [...TEMPLATE_VARS, ...Object.keys(LEGACY_VARS)]);
    problem(out, "error", file, `unknown template variable \${${u.name}}${near ? ` (did you mean \${${near}}?)` : ""}`, { line: u.line + lineOffset, field: `\${${u.name}}` });
  }
  for (const l of legacy) {
    const modern = l.name === "INDEX" ? "${ITERATION} is the modern one (it counts from 1, ${INDEX} from 0)" : `\${${LEGACY_VARS[l.name]}} is the modern one`;
    problem(out, "hint", file, `\${${l.name}} is a legacy name: ${modern}`, { line: l.line + lineOffset, field: `\${${l.name}}` });
  }
}

/** Fields that do not fit the termination type, and a min above the max. */
export function checkTermination(t: Termination | undefined, type: string, y: YamlFile, base: (string | number)[], out: Diagnostic[]): void {
  if (!t) return;
  const at = (k: string) => ({ line: lineOf(y, [...base, k]), field: fieldOf([...base, k]) });
  if (type !== "judgment") {
    for (const k of ["min_iterations", "consensus", "judge"] as const) {
      if (t[k] !== undefined) problem(out, "error", y.file, `${k} applies only to judgment stages (this one is ${type})`, at(k));
    }
  }
  if (type !== "queue" && t.command !== undefined) problem(out, "error", y.file, `command applies only to queue stages (this one is ${type})`, at("command"));
  if (t.max !== undefined && t.min_iterations !== undefined && t.min_iterations > t.max) {
    problem(out, "error", y.file, `min_iterations (${t.min_iterations}) is larger than max (${t.max})`, at("min_iterations"));
  }
  if (t.judge?.provider === "command" && !t.judge.command) problem(out, "error", y.file, "a command judge needs judge.command", at("judge"));
}
