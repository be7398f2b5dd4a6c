// Resolving where a node's inputs come from: an earlier node, earlier parallel blocks' providers,
// the files given with --input or a pipeline's `inputs:`.
import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { usage } from "../lib/errors.ts";
import type { LoadedPipeline } from "./definition.ts";
import type { ParallelNode, StageNode } from "./legacy.ts";
import { fieldOf, lineOf, type YamlFile } from "./load.ts";
import type { InputsPlan, NodePlan, ParallelPlan } from "./plan.ts";
import { err, type Ctx, type Path } from "./resolving.ts";

/** Where node `id` stands relative to the node at `path` (a top-level node or a stage in a parallel block). */
function nodeOrder(p: LoadedPipeline, id: string, path: Path): "earlier" | "later" | "unknown" {
  const here = path[1] as number;
  const top = p.nodes.find((n) => n.id === id);
  if (top) return (top.path[1] as number) < here ? "earlier" : "later";
  const block = p.nodes.find((n) => n.path[1] === here);
  // A provider entry's inputs (path …providers[j]) may name only top-level nodes.
  if (block?.kind !== "parallel" || path[3] === "providers") return "unknown";
  const at = block.def.parallel.stages.findIndex((s) => s.id === id);
  return at < 0 ? "unknown" : at < (path[4] as number) ? "earlier" : "later";
}

export function nodeInputs(c: Ctx, def: StageNode["inputs"] | ParallelNode["inputs"], earlier: NodePlan[], p: LoadedPipeline, path: Path): InputsPlan {
  const inputs: InputsPlan = { from: null, select: def?.select ?? "latest", from_initial: def?.from_initial ?? false, from_parallel: [] };
  if (!def) return inputs;
  const at = (k: string) => ({ line: lineOf(p.yaml, [...path, "inputs", k]), field: `${fieldOf(path)}.inputs.${k}` });
  if (def.from) {
    const target = earlier.find((n) => n.id === def.from);
    if (!target) {
      const order = nodeOrder(p, def.from, path);
      // An earlier node that did not resolve, or whose definition is broken, has its own error already.
      if (order !== "earlier" && !p.broken.has(def.from)) err(c, p.file, order === "later" ? `input from ${def.from}, which runs later (or is this node)` : `input from unknown node ${def.from}`, at("from"));
    } else if (target.kind === "parallel") {
      err(c, p.file, `${def.from} is a parallel block: use from_parallel: { block: ${def.from}, stage: <id> }`, at("from"));
    } else inputs.from = def.from;
  }
  if (def.from_parallel !== undefined) {
    const list = Array.isArray(def.from_parallel) ? def.from_parallel : [def.from_parallel];
    const blocks = earlier.filter((n): n is ParallelPlan => n.kind === "parallel");
    list.forEach((entry, j) => {
      const where = Array.isArray(def.from_parallel) ? { line: lineOf(p.yaml, [...path, "inputs", "from_parallel", j]), field: `${fieldOf(path)}.inputs.from_parallel[${j}]` } : at("from_parallel");
      const fp = typeof entry === "string" ? { stage: entry } : entry;
      let blockId = "block" in fp ? fp.block : undefined;
      let stageId = fp.stage;
      if (!blockId && stageId.includes("/")) [blockId, stageId] = stageId.split("/", 2) as [string, string];
      const block = blockId ? blocks.find((b) => b.id === blockId) : blocks.findLast((b) => b.stages.some((s) => s.id === stageId));
      if (!block) return err(c, p.file, `from_parallel: no earlier parallel block${blockId ? ` ${blockId}` : ""} with a stage ${stageId}`, where);
      if (!block.stages.some((s) => s.id === stageId)) return err(c, p.file, `from_parallel: block ${block.id} has no stage ${stageId}`, where);
      const sel = "select" in fp && fp.select && fp.select !== "latest" ? "all" : "latest";
      const providers = "providers" in fp && fp.providers ? fp.providers : null;
      for (const pid of providers ?? []) {
        if (!block.providers.some((x) => x.id === pid)) err(c, p.file, `from_parallel: block ${block.id} has no provider ${pid} (it has ${block.providers.map((x) => x.id).join(", ")})`, where);
      }
      inputs.from_parallel.push({ block: block.id, stage: stageId, providers, select: sel });
    });
  }
  return inputs;
}

/** --input files (and a pipeline's inputs:) to absolute paths; a directory gives its files. */
export function resolveInputs(c: Ctx, list: string[], file: string, y?: YamlFile): string[] {
  const res: string[] = [];
  for (const [i, item] of list.entries()) {
    const p = isAbsolute(item) ? item : resolve(y ? c.root : process.cwd(), item);
    if (!existsSync(p)) {
      // A flag's mistake is a usage error naming the flag, not a problem of the definition.
      if (!y) throw usage(`--input ${item} does not exist`, { hint: "give an existing file, or a directory of .md, .yaml, .json or .txt files" });
      err(c, file, `input ${item} does not exist`, { line: lineOf(y, ["inputs", i]), field: `inputs[${i}]` });
      continue;
    }
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.(md|ya?ml|json|txt)$/.test(f)) res.push(join(p, f));
    } else res.push(p);
  }
  return res;
}
