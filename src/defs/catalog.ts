// The catalog for `stages` and `pipelines`: every definition visible from a root, cheaply described.
import { parse } from "yaml";
import { listDefinitions, readSource, sourceLabel, type Listed } from "./find.ts";
import { COMPLETION_ALIASES } from "./schema.ts";

export interface CatalogEntry {
  name: string;
  kind: Listed["kind"];
  description: string | null;
  source: string;
  builtin: boolean;
  shadowed: boolean;
  /** Stage: "judgment, max 10"; pipeline: its node ids. */
  summary: string;
}

/** What can be started, cheaply: each file is parsed for its description and shape, not validated. */
export function catalog(root: string, kind: Listed["kind"]): CatalogEntry[] {
  return listDefinitions(root)
    .filter((d) => d.kind === kind)
    .map((d) => {
      let data: Record<string, unknown> = {};
      try {
        data = (parse(readSource(d.source) ?? "") as Record<string, unknown>) ?? {};
      } catch {}
      return {
        name: d.name,
        kind: d.kind,
        description: typeof data.description === "string" ? data.description : null,
        source: sourceLabel(d.source),
        builtin: d.source.kind === "builtin",
        shadowed: d.shadowed,
        summary: kind === "stage" ? stageSummary(data) : pipelineSummary(data),
      };
    });
}

function stageSummary(d: Record<string, unknown>): string {
  const t = (d.termination ?? {}) as Record<string, unknown>;
  const type = (t.type as string) ?? (COMPLETION_ALIASES as Record<string, string>)[d.completion as string] ?? "fixed";
  const max = t.max ?? t.iterations;
  return `${type}${max !== undefined ? `, max ${max}` : ""}${d.provider ? `, ${d.provider}` : ""}`;
}

function pipelineSummary(d: Record<string, unknown>): string {
  const nodes = (d.nodes ?? d.stages ?? []) as Record<string, unknown>[];
  if (!Array.isArray(nodes)) return "";
  return nodes.map((n) => (n && typeof n === "object" ? String(n.id ?? n.name ?? "?") + ("parallel" in n ? " (parallel)" : "") : "?")).join(" → ");
}
