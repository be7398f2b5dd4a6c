import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import * as v from "valibot";
import { missingDep, notFound } from "../lib/errors.ts";
import { selfArgv, which } from "../lib/proc.ts";
import { splitWords } from "../lib/shellwords.ts";
import type { Diagnostic } from "./diagnostics.ts";
import {
  findPipeline,
  findStage,
  isStageFile,
  listDefinitions,
  looksLikePath,
  pathSource,
  readSource,
  sibling,
  sourceLabel,
  type Source,
} from "./find.ts";
import { check, lineOf, parseYaml, type YamlFile } from "./load.ts";
import type { InputsPlan, NodePlan, ParallelPlan, Plan, ProviderPlan, StagePlan, TerminationPlan } from "./plan.ts";
import {
  COMPLETION_ALIASES,
  LIMITS,
  ParallelNodeSchema,
  PipelineSchema,
  StageNodeSchema,
  StageSchema,
  type StageDef,
  type StageNodeDef,
  type TerminationDef,
} from "./schema.ts";
import { scanTemplate } from "./template.ts";

export interface LoadedStage {
  name: string;
  def: StageDef;
  prompt: string;
  source: Source;
  file: string;
  yaml: YamlFile;
}

/** The queue a queue stage works when it names none (the bash tool's beads queue). */
const DEFAULT_QUEUE = "bd ready --label=pipeline/${SESSION_NAME}";

const err = (out: Diagnostic[], file: string, message: string, extra: Partial<Diagnostic> = {}) =>
  out.push({ level: "error", file, message, ...extra });
const hint = (out: Diagnostic[], file: string, message: string, extra: Partial<Diagnostic> = {}) =>
  out.push({ level: "hint", file, message, ...extra });
const warn = (out: Diagnostic[], file: string, message: string, extra: Partial<Diagnostic> = {}) =>
  out.push({ level: "warning", file, message, ...extra });

export function loadStageSource(source: Source, dirName: string, out: Diagnostic[]): LoadedStage | null {
  const file = sourceLabel(source);
  const text = readSource(source);
  if (text === null) {
    err(out, file, "cannot read the file");
    return null;
  }
  const yaml = parseYaml(file, text, out);
  if (!yaml.doc) return null;
  const def = check(StageSchema, yaml, yaml.data ?? {}, [], out);
  if (!def) return null;
  if (def.name && def.name !== dirName) {
    warn(out, file, `name ${def.name} differs from its folder ${dirName}; the folder name is used`, {
      line: lineOf(yaml, ["name"]),
      field: "name",
    });
  }
  if (def.completion) {
    hint(out, file, `'completion: ${def.completion}' is the old spelling of 'termination.type'`, { line: lineOf(yaml, ["completion"], true), field: "completion" });
  }
  if (def.check_before !== undefined) {
    hint(out, file, "'check_before' is no longer needed: queue stages always check before each iteration", { line: lineOf(yaml, ["check_before"], true), field: "check_before" });
  }
  for (const k of ["min_iterations", "consensus"] as const) {
    if (def[k] !== undefined) hint(out, file, `top-level '${k}' is the old spelling of 'termination.${k}'`, { line: lineOf(yaml, [k], true), field: k });
  }
  if (def.output_parse !== undefined) {
    hint(out, file, "'output_parse' is ignored: decisions come from the agent's status.json", { line: lineOf(yaml, ["output_parse"], true), field: "output_parse" });
  }
  if (def.termination?.iterations !== undefined) {
    hint(out, file, "'termination.iterations' is the old spelling of 'termination.max'", { line: lineOf(yaml, ["termination", "iterations"], true), field: "termination.iterations" });
  }
  const type = typeOf(def.termination, def.completion);
  checkTermination(def.termination, type, yaml, ["termination"], out);
  if (type === "queue" && !def.termination?.command) {
    const key = def.termination?.type ? ["termination", "type"] : def.completion ? ["completion"] : ["termination"];
    hint(out, file, `queue stage without termination.command: it uses '${DEFAULT_QUEUE}'`, { line: lineOf(yaml, key), field: "termination.command" });
  }
  const promptName = def.prompt ?? "prompt.md";
  const candidates = def.prompt ? [promptName, `${promptName}.md`, `prompts/${promptName}`, `prompts/${promptName}.md`] : ["prompt.md", "prompts/prompt.md"];
  let prompt: string | null = null;
  let promptSource: Source | null = null;
  for (const c of candidates) {
    const s = sibling(source, c);
    const t = readSource(s);
    if (t !== null) {
      prompt = t;
      promptSource = s;
      break;
    }
  }
  if (prompt === null || !promptSource) {
    // With no `prompt:` field this points at the top of stage.yaml, where one would go.
    err(out, file, `prompt file ${promptName} not found beside stage.yaml`, { field: "prompt", line: lineOf(yaml, ["prompt"]) });
    return null;
  }
  lintPrompt(prompt, sourceLabel(promptSource), out);
  return { name: dirName, def, prompt, source, file, yaml };
}

/** A node's inline `prompt:` replaces its stage's prompt.md, or makes a stage of its own. */
function inlinePrompt(named: LoadedStage | null, id: string, prompt: string, p: LoadedPipeline, path: (string | number)[], out: Diagnostic[]): LoadedStage {
  const line = lineOf(p.yaml, [...path, "prompt"]) ?? 1;
  // A block scalar (`prompt: |`) starts on the line after its key.
  lintPrompt(prompt, p.file, out, line);
  return named ? { ...named, prompt } : { name: id, def: {}, prompt, source: p.source, file: p.file, yaml: p.yaml };
}

function lintPrompt(text: string, file: string, out: Diagnostic[], lineOffset = 0) {
  const { unknown, legacy } = scanTemplate(text);
  for (const u of unknown) {
    err(out, file, `unknown template variable \${${u.name}}`, {
      line: u.line + lineOffset,
      field: `\${${u.name}}`,
    });
  }
  const legacyNames: Record<string, string> = { SESSION: "SESSION_NAME", PROGRESS_FILE: "PROGRESS", RESULT: "STATUS", OUTPUT_PATH: "OUTPUT" };
  for (const l of legacy) {
    const modern = l.name === "INDEX" ? "${ITERATION} is the modern one (it counts from 1, ${INDEX} from 0)" : `\${${legacyNames[l.name]}} is the modern one`;
    hint(out, file, `\${${l.name}} is a legacy name: ${modern}`, { line: l.line + lineOffset, field: `\${${l.name}}` });
  }
}

function typeOf(t: TerminationDef | undefined, completion?: string): TerminationPlan["type"] {
  if (t?.type) return t.type;
  if (completion) return (COMPLETION_ALIASES as Record<string, TerminationPlan["type"]>)[completion] ?? (completion as TerminationPlan["type"]);
  return "fixed";
}

function checkTermination(t: TerminationDef | undefined, type: TerminationPlan["type"], y: YamlFile, base: (string | number)[], out: Diagnostic[]) {
  if (!t) return;
  const at = (k: string) => ({ line: lineOf(y, [...base, k]), field: fieldPath([...base, k]) });
  if (type !== "judgment") {
    for (const k of ["min_iterations", "consensus", "judge"] as const) {
      if (t[k] !== undefined) err(out, y.file, `${k} applies only to judgment stages (this one is ${type})`, at(k));
    }
  }
  if (type !== "queue" && t.command !== undefined) err(out, y.file, `command applies only to queue stages (this one is ${type})`, at("command"));
  const max = t.max ?? t.iterations;
  if (max !== undefined && t.min_iterations !== undefined && t.min_iterations > max) {
    err(out, y.file, `min_iterations (${t.min_iterations}) is larger than max (${max})`, at("min_iterations"));
  }
  if (t.judge?.provider === "command" && !t.judge.command) err(out, y.file, "a command judge needs judge.command", at("judge"));
}

export type LoadedPipeline = {
  name: string;
  source: Source;
  file: string;
  yaml: YamlFile;
  description: string | null;
  commands: Record<string, string>;
  inputs: string[];
  defaults: { provider?: ProviderPlan["name"]; model?: string };
  nodes: RawNode[];
};
type RawNode =
  | { kind: "stage"; id: string; def: StageNodeDef; path: (string | number)[] }
  | { kind: "parallel"; id: string; def: v.InferOutput<typeof ParallelNodeSchema>; path: (string | number)[] };

export function loadPipelineSource(source: Source, fallbackName: string, out: Diagnostic[]): LoadedPipeline | null {
  const file = sourceLabel(source);
  const text = readSource(source);
  if (text === null) {
    err(out, file, "cannot read the file");
    return null;
  }
  const yaml = parseYaml(file, text, out);
  if (!yaml.doc) return null;
  const def = check(PipelineSchema, yaml, yaml.data ?? {}, [], out);
  if (!def) return null;
  const key = def.nodes ? "nodes" : "stages";
  const list = def.nodes ?? def.stages;
  if (def.nodes && def.stages) err(out, file, "give either nodes or stages, not both", { line: lineOf(yaml, ["stages"], true), field: "stages" });
  if (def.version !== undefined) hint(out, file, "'version' is ignored", { line: lineOf(yaml, ["version"], true), field: "version" });
  if (!def.nodes && def.stages) hint(out, file, "'stages:' is the old spelling of 'nodes:'", { line: lineOf(yaml, ["stages"], true), field: "stages" });
  if (!list || list.length === 0) {
    err(out, file, "a pipeline needs at least one node", { line: lineOf(yaml, [key]), field: key });
    return null;
  }
  const nodes: RawNode[] = [];
  const ids = new Map<string, number>();
  list.forEach((raw, i) => {
    const path = [key, i];
    const isParallel = raw !== null && typeof raw === "object" && "parallel" in raw;
    const parsed = isParallel ? check(ParallelNodeSchema, yaml, raw, path, out) : check(StageNodeSchema, yaml, raw, path, out);
    if (!parsed) return;
    const id = parsed.id ?? parsed.name;
    if (!id) {
      err(out, file, "a node needs an id", { line: lineOf(yaml, path), field: `${key}[${i}].id` });
      return;
    }
    if (!parsed.id && parsed.name) hint(out, file, "a node's 'name:' is the old spelling of 'id:'", { line: lineOf(yaml, [...path, "name"], true), field: `${key}[${i}].name` });
    if (ids.has(id)) err(out, file, `duplicate node id ${id} (also node ${ids.get(id)})`, { line: lineOf(yaml, [...path, parsed.id ? "id" : "name"]), field: `${key}[${i}].id` });
    ids.set(id, i);
    nodes.push(isParallel ? { kind: "parallel", id, def: parsed as RawNode["def"] & { parallel: never }, path } as RawNode : { kind: "stage", id, def: parsed as StageNodeDef, path });
  });
  return {
    name: def.name ?? fallbackName,
    source,
    file,
    yaml,
    description: def.description ?? null,
    commands: def.commands ?? {},
    inputs: def.inputs ?? [],
    defaults: def.defaults ?? {},
    nodes,
  };
}

export interface PlanOptions {
  session: string;
  max?: number;
  provider?: ProviderPlan["name"];
  model?: string;
  command?: string;
  context?: string;
  inputs?: string[];
  delay?: number;
  timeout?: number;
  keep?: boolean;
  notify?: boolean;
  /** Resolve agent executables (start); lint does not need them. */
  resolveBins?: boolean;
}

export type Target = { kind: "stage"; name: string; source: Source } | { kind: "pipeline"; name: string; source: Source };

export function findTarget(root: string, target: string): Target {
  if (looksLikePath(target)) {
    const s = pathSource(root, target);
    if (!s) throw notFound(`no definition at ${target}`, { hint: "give a stage name, a pipeline name, or the path of a .yaml file" });
    if (isStageFile(s)) return { kind: "stage", name: s.path.split("/").slice(-2)[0]!, source: s };
    return { kind: "pipeline", name: s.path.split("/").pop()!.replace(/\.ya?ml$/, ""), source: s };
  }
  const stage = findStage(root, target);
  if (stage) return { kind: "stage", name: target, source: stage };
  const pipe = findPipeline(root, target);
  if (pipe) return { kind: "pipeline", name: target, source: pipe };
  const names = [...new Set(listDefinitions(root).map((d) => d.name))];
  throw notFound(`no stage or pipeline named ${target}`, {
    hint: `known: ${names.join(", ")} ('sessions stages', 'sessions pipelines')`,
  });
}

/** Resolve a target and the flags into the plan `run` executes; every problem goes to `out`. */
export function buildPlan(root: string, target: Target, opts: PlanOptions, out: Diagnostic[]): Plan | null {
  const initial = resolveInputs(root, opts.inputs ?? [], out);
  const base = {
    version: 1 as const,
    session: opts.session,
    root,
    created_at: new Date().toISOString(),
    context: opts.context ?? null,
    keep: opts.keep ?? false,
    notify: opts.notify ?? false,
  };
  const cache = new Map<string, LoadedStage | null>();
  const stageByName = (name: string, file: string, at: Partial<Diagnostic>) => {
    if (!cache.has(name)) {
      const src = findStage(root, name);
      if (!src) {
        err(out, file, `unknown stage ${name}`, { ...at, message: `unknown stage ${name}` });
        cache.set(name, null);
      } else cache.set(name, loadStageSource(src, name, out));
    }
    return cache.get(name) ?? null;
  };

  if (target.kind === "stage") {
    const st = loadStageSource(target.source, target.name, out);
    if (!st) return null;
    const node = stagePlan(root, st, target.name, undefined, opts, {}, out);
    if (!node) return null;
    return {
      ...base,
      type: "loop",
      target: { name: target.name, kind: "stage", source: sourceLabel(target.source) },
      inputs: initial,
      commands: st.def.commands ?? {},
      nodes: [node],
    };
  }

  const p = loadPipelineSource(target.source, target.name, out);
  if (!p) return null;
  const pipelineInputs = resolveInputs(root, p.inputs, out, p.file, p.yaml);
  const nodes: NodePlan[] = [];
  const seen: NodePlan[] = [];
  for (const raw of p.nodes) {
    const at = { line: lineOf(p.yaml, raw.path) };
    if (raw.kind === "stage") {
      const stageName = raw.def.stage ?? raw.def.loop;
      if (!stageName && raw.def.prompt === undefined) {
        err(out, p.file, "a node needs a stage, an inline prompt, or a parallel block", { ...at, field: `${fieldPath(raw.path)}.stage` });
        continue;
      }
      if (raw.def.loop) hint(out, p.file, "a node's 'loop:' is the old spelling of 'stage:'", { line: lineOf(p.yaml, [...raw.path, "loop"], true), field: `${fieldPath(raw.path)}.loop` });
      const named = stageName ? stageByName(stageName, p.file, { line: lineOf(p.yaml, [...raw.path, raw.def.stage ? "stage" : "loop"]), field: `${fieldPath(raw.path)}.stage` }) : null;
      if (stageName && !named) continue;
      const st = raw.def.prompt === undefined ? named! : inlinePrompt(named, raw.id, raw.def.prompt, p, raw.path, out);
      checkNodeTermination(raw.def, st, p, raw.path, out);
      const node = stagePlan(root, st, raw.id, raw.def, opts, p.defaults, out, true, { file: p.file, yaml: p.yaml, path: raw.path });
      if (!node) continue;
      node.inputs = nodeInputs(raw.def.inputs, seen, p, raw.path, out);
      nodes.push(node);
      seen.push(node);
    } else {
      const block = raw.def.parallel;
      const blockInputs = nodeInputs(raw.def.inputs, seen, p, raw.path, out);
      const providers: ParallelPlan["providers"] = [];
      const pids = new Set<string>();
      block.providers.forEach((entry, i) => {
        const spec = typeof entry === "string" ? { provider: entry } : entry;
        const name = spec.provider ?? (typeof entry === "string" ? entry : "claude");
        const id = spec.id ?? (typeof entry === "string" ? entry : spec.name ?? name);
        const ppath = [...raw.path, "parallel", "providers", i];
        if (pids.has(id)) err(out, p.file, `duplicate provider id ${id} in parallel block ${raw.id}: give each an id`, { line: lineOf(p.yaml, ppath), field: fieldPath(ppath) });
        pids.add(id);
        const prov = providerPlan(root, name, spec.model ?? null, spec.command, opts, out, p.file, { line: lineOf(p.yaml, ppath), field: fieldPath(ppath) });
        if (prov) providers.push({ id, provider: prov });
      });
      const stages: StagePlan[] = [];
      const stageIds = new Set<string>();
      block.stages.forEach((s, i) => {
        const spath = [...raw.path, "parallel", "stages", i];
        const id = s.id ?? s.name;
        const stageName = s.stage ?? s.loop;
        if (!id || !stageName) {
          err(out, p.file, "a parallel stage needs an id and a stage", { line: lineOf(p.yaml, spath), field: fieldPath(spath) });
          return;
        }
        if (stageIds.has(id)) err(out, p.file, `duplicate stage id ${id} in parallel block ${raw.id}`, { line: lineOf(p.yaml, spath), field: fieldPath(spath) });
        stageIds.add(id);
        if (s.provider) err(out, p.file, "a stage inside a parallel block runs with each of the block's providers: remove its provider", { line: lineOf(p.yaml, [...spath, "provider"]), field: `${fieldPath(spath)}.provider` });
        const st = stageByName(stageName, p.file, { line: lineOf(p.yaml, [...spath, "stage"]), field: `${fieldPath(spath)}.stage` });
        if (!st) return;
        checkNodeTermination(s, st, p, spath, out);
        const plan = stagePlan(root, st, id, { ...s, provider: undefined }, { ...opts, provider: undefined, command: undefined }, p.defaults, out, false, { file: p.file, yaml: p.yaml, path: spath });
        if (plan) {
          // The block's inputs go to each of its stages that names none of its own.
          plan.inputs = s.inputs ? nodeInputs(s.inputs, [...seen, ...stages], p, spath, out) : blockInputs;
          stages.push(plan);
        }
      });
      if (block.failure_mode !== undefined) {
        hint(out, p.file, `'failure_mode' is the old spelling of 'fail_fast: true|false'`, { line: lineOf(p.yaml, [...raw.path, "parallel", "failure_mode"], true), field: `${fieldPath(raw.path)}.parallel.failure_mode` });
      }
      const failFast = block.fail_fast ?? block.failure_mode === "fail_fast";
      const node: ParallelPlan = {
        kind: "parallel",
        id: raw.id,
        description: raw.def.description ?? null,
        providers,
        stages,
        isolation: block.isolation ?? (existsSync(join(root, ".git")) ? "worktree" : "none"),
        fail_fast: failFast,
        inputs: blockInputs,
      };
      nodes.push(node);
      seen.push(node);
    }
  }
  return {
    ...base,
    type: "pipeline",
    target: { name: p.name, kind: "pipeline", source: sourceLabel(target.source) },
    inputs: [...pipelineInputs, ...initial],
    commands: p.commands,
    nodes,
  };
}

const fieldPath = (path: (string | number)[]) => path.reduce<string>((s, k) => (typeof k === "number" ? `${s}[${k}]` : s ? `${s}.${k}` : k), "");

function checkNodeTermination(n: StageNodeDef, st: LoadedStage, p: LoadedPipeline, path: (string | number)[], out: Diagnostic[]) {
  if (!n.termination) return;
  const base = [...path, "termination"];
  const stageType = typeOf(st.def.termination, st.def.completion);
  const type = n.termination.type ?? stageType;
  checkTermination(n.termination, type, p.yaml, base, out);
  if (n.termination.iterations !== undefined) {
    hint(out, p.file, "'termination.iterations' is the old spelling of 'termination.max' (or the node's 'runs')", { line: lineOf(p.yaml, [...base, "iterations"], true), field: `${fieldPath(base)}.iterations` });
  }
  // The stage file already says so when the stage itself is a queue without a command.
  if (type === "queue" && stageType !== "queue" && !n.termination.command && !st.def.termination?.command) {
    hint(out, p.file, `queue node without termination.command: it uses '${DEFAULT_QUEUE}'`, { line: lineOf(p.yaml, [...base, "type"]), field: `${fieldPath(base)}.command` });
  }
}

/** Where node `id` stands relative to the node at `path` (a top-level node or a stage in a parallel block). */
function nodeOrder(p: LoadedPipeline, id: string, path: (string | number)[]): "earlier" | "later" | "unknown" {
  const here = path[1] as number;
  const top = p.nodes.find((n) => n.id === id);
  if (top) return (top.path[1] as number) < here ? "earlier" : "later";
  const block = p.nodes.find((n) => n.path[1] === here);
  if (block?.kind !== "parallel") return "unknown";
  const ids = block.def.parallel.stages.map((s) => s.id ?? s.name);
  const at = ids.indexOf(id);
  return at < 0 ? "unknown" : at < (path[4] as number) ? "earlier" : "later";
}

function nodeInputs(
  def: StageNodeDef["inputs"],
  earlier: NodePlan[],
  p: LoadedPipeline,
  path: (string | number)[],
  out: Diagnostic[],
): InputsPlan {
  const inputs: InputsPlan = { from: null, select: def?.select ?? "latest", from_initial: def?.from_initial ?? false, from_parallel: null };
  if (!def) return inputs;
  const at = (k: string) => ({ line: lineOf(p.yaml, [...path, "inputs", k]), field: `${fieldPath(path)}.inputs.${k}` });
  if (def.from) {
    const target = earlier.find((n) => n.id === def.from);
    if (!target) {
      const order = nodeOrder(p, def.from, path);
      // An earlier node that did not resolve has its own error already.
      if (order !== "earlier") err(out, p.file, order === "later" ? `input from ${def.from}, which runs later (or is this node)` : `input from unknown node ${def.from}`, at("from"));
    } else if (target.kind === "parallel") {
      err(out, p.file, `${def.from} is a parallel block: use from_parallel: { block: ${def.from}, stage: <id> }`, at("from"));
    } else inputs.from = def.from;
  }
  if (def.from_parallel !== undefined) {
    const fp = typeof def.from_parallel === "string" ? { stage: def.from_parallel } : def.from_parallel;
    let blockId = "block" in fp ? fp.block : undefined;
    let stageId = fp.stage;
    if (!blockId && stageId.includes("/")) [blockId, stageId] = stageId.split("/", 2) as [string, string];
    const blocks = earlier.filter((n): n is ParallelPlan => n.kind === "parallel");
    const block = blockId ? blocks.find((b) => b.id === blockId) : blocks.find((b) => b.stages.some((s) => s.id === stageId));
    if (!block) err(out, p.file, `from_parallel: no earlier parallel block${blockId ? ` ${blockId}` : ""} with a stage ${stageId}`, at("from_parallel"));
    else if (!block.stages.some((s) => s.id === stageId)) err(out, p.file, `from_parallel: block ${block.id} has no stage ${stageId}`, at("from_parallel"));
    else {
      const sel = "select" in fp && fp.select && fp.select !== "latest" ? "all" : "latest";
      const providers = "providers" in fp && fp.providers ? fp.providers : null;
      for (const pid of providers ?? []) {
        if (!block.providers.some((x) => x.id === pid)) err(out, p.file, `from_parallel: block ${block.id} has no provider ${pid}`, at("from_parallel"));
      }
      inputs.from_parallel = { block: block.id, stage: stageId, providers, select: sel };
    }
  }
  return inputs;
}

function stagePlan(
  root: string,
  st: LoadedStage,
  id: string,
  node: StageNodeDef | undefined,
  opts: PlanOptions,
  defaults: LoadedPipeline["defaults"],
  out: Diagnostic[],
  resolveProvider = true,
  nodeAt?: { file: string; yaml: YamlFile; path: (string | number)[] },
): StagePlan | null {
  const sd = st.def;
  // Problems point at the node when it set the field, else at the stage.
  const where = (nodeSet: boolean, keys: string[]): [string, Partial<Diagnostic>] =>
    nodeSet && nodeAt
      ? [nodeAt.file, { line: lineOf(nodeAt.yaml, [...nodeAt.path, ...keys]), field: fieldPath([...nodeAt.path, ...keys]) }]
      : [st.file, { line: lineOf(st.yaml, keys), field: keys.join(".") }];
  const nt = node?.termination;
  const type = nt?.type ?? typeOf(sd.termination, sd.completion);
  const max = opts.max ?? node?.runs ?? nt?.max ?? nt?.iterations ?? sd.termination?.max ?? sd.termination?.iterations ?? LIMITS.defaultMax;
  let min = nt?.min_iterations ?? sd.termination?.min_iterations ?? sd.min_iterations ?? 1;
  if (min > max) min = max;
  const consensus = nt?.consensus ?? sd.termination?.consensus ?? sd.consensus ?? 2;
  const queueCommand = nt?.command ?? sd.termination?.command ?? (type === "queue" ? DEFAULT_QUEUE : undefined);
  const judgeDef = nt?.judge ?? sd.termination?.judge;
  let command: string[] | null = null;
  try {
    command = queueCommand ? splitWords(queueCommand) : null;
  } catch (e) {
    const [f, at] = where(nt?.command !== undefined, ["termination", "command"]);
    err(out, f, (e as Error).message, at);
  }
  // A queue whose command is not installed would fail at the first check: say so before starting.
  if (command?.[0] && opts.resolveBins) resolveExecutable(root, command[0], "the queue command of stage " + st.name);
  const providerName = opts.provider ?? node?.provider ?? sd.provider ?? defaults.provider ?? "claude";
  const model = opts.model ?? node?.model ?? sd.model ?? defaults.model ?? null;
  const commandText = opts.command ?? node?.command ?? sd.command;
  const [pFile, pAt] = where(node?.command !== undefined || node?.provider !== undefined, [(node?.command ?? sd.command) !== undefined ? "command" : "provider"]);
  const provider = providerPlan(root, providerName, model, commandText, opts, out, pFile, pAt, resolveProvider);
  const [jFile, jAt] = where(nt?.judge !== undefined, ["termination", "judge"]);
  const judge = judgeDef
    ? providerPlan(root, judgeDef.provider ?? "claude", judgeDef.model ?? (judgeDef.provider && judgeDef.provider !== "claude" ? null : "haiku"), judgeDef.command, opts, out, jFile, jAt, resolveProvider)
    : null;
  if (!provider) return null;
  return {
    kind: "stage",
    id,
    stage: st.name,
    source: st.file,
    description: node?.description ?? sd.description ?? null,
    prompt: st.prompt,
    provider,
    termination: { type, max, min_iterations: min, consensus: Math.min(consensus, max), command, judge },
    delay: opts.delay ?? node?.delay ?? sd.delay ?? LIMITS.defaultDelay,
    timeout: opts.timeout ?? node?.timeout ?? sd.timeout ?? LIMITS.defaultTimeout,
    stall_after: node?.stall_after ?? sd.stall_after ?? LIMITS.defaultStallAfter,
    output_path: node?.output_path ?? sd.output_path ?? null,
    context: opts.context ?? node?.context ?? sd.context ?? null,
    inputs: { from: null, select: "latest", from_initial: false, from_parallel: null },
    on_error: node?.on_error ?? sd.on_error ?? "fail",
    retries: node?.retries ?? sd.retries ?? ((node?.on_error ?? sd.on_error) === "retry" ? 2 : 0),
    backoff: node?.backoff ?? sd.backoff ?? 30,
  };
}

export const AGENT_ENV: Record<"claude" | "codex", string> = { claude: "SESSIONS_CLAUDE_BIN", codex: "SESSIONS_CODEX_BIN" };
export const SELF_WORD = "${SESSIONS_BIN}";

function providerPlan(
  root: string,
  name: ProviderPlan["name"],
  model: string | null,
  command: string | undefined,
  opts: PlanOptions,
  out: Diagnostic[],
  file: string,
  at: Partial<Diagnostic>,
  resolveBin = true,
): ProviderPlan | null {
  if (name === "command") {
    if (!command) {
      err(out, file, "the command provider needs a command (stage 'command:' or --command)", at);
      return null;
    }
    let words: string[];
    try {
      words = splitWords(command);
    } catch (e) {
      err(out, file, (e as Error).message, at);
      return null;
    }
    if (words.length === 0) {
      err(out, file, "the command is empty", at);
      return null;
    }
    const bin = opts.resolveBins && resolveBin ? resolveExecutable(root, words[0]!) : null;
    return { name, model, command: words, bin };
  }
  const bin = opts.resolveBins && resolveBin ? resolveAgent(name) : null;
  return { name, model, command: null, bin };
}

/** claude / codex to an absolute path (SESSIONS_*_BIN first), or exit 5 saying how to install it. */
export function resolveAgent(name: "claude" | "codex"): string {
  const override = process.env[AGENT_ENV[name]];
  const found = override ? (isAbsolute(override) ? (existsSync(override) ? override : null) : which(override)) : which(name);
  if (found) return found;
  const pkg = name === "claude" ? "@anthropic-ai/claude-code" : "@openai/codex";
  throw missingDep(`${name} is not installed (not found on PATH${override ? ` nor at ${AGENT_ENV[name]}=${override}` : ""})`, {
    hint: `install it with 'npm install -g ${pkg}', or set ${AGENT_ENV[name]} to its path`,
    details: { missing: name, install: `npm install -g ${pkg}` },
  });
}

function resolveExecutable(root: string, word: string, what = "command"): string {
  const queue = what !== "command";
  if (word === SELF_WORD) return selfArgv()[0]!;
  if (word.includes("/")) {
    const p = isAbsolute(word) ? word : resolve(root, word);
    if (existsSync(p)) return p;
  } else {
    const p = which(word);
    if (p) return p;
  }
  throw missingDep(`${queue ? `${what}: ` : "command "}${word} not found${word.includes("/") ? "" : " on PATH"}`, {
    hint: queue
      ? `install it${word === "bd" ? " (beads)" : ""}, or set termination.command in a project-local copy of the stage or in the pipeline node`
      : "install it or give the command's full path in the stage's 'command:' (or --command)",
    details: { missing: word },
  });
}

/** --input files (and a pipeline's inputs:) to absolute paths; a directory gives its files. */
function resolveInputs(root: string, list: string[], out: Diagnostic[], file = "--input", y?: YamlFile): string[] {
  const res: string[] = [];
  for (const [i, item] of list.entries()) {
    const p = isAbsolute(item) ? item : resolve(file === "--input" ? process.cwd() : root, item);
    if (!existsSync(p)) {
      err(out, file, `input ${item} does not exist`, y ? { line: lineOf(y, ["inputs", i]), field: `inputs[${i}]` } : { field: "inputs" });
      continue;
    }
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.(md|ya?ml|json|txt)$/.test(f)) res.push(join(p, f));
    } else res.push(p);
  }
  return res;
}
