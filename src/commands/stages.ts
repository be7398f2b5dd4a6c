import { defineCommand } from "citty";
import { catalog } from "../defs/catalog.ts";
import { c, emit, table, termWidth } from "../lib/output.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg } from "./_args.ts";

export function listCommand(kind: "stage" | "pipeline") {
  return defineCommand({
    meta: { name: `${kind}s`, description: `List the ${kind}s you can start: project-local first, then built-in` },
    args: { ...jsonArg, ...rootArg },
    run({ args }) {
      const entries = catalog(resolveRoot(args.root), kind);
      emit(args.json, { [`${kind}s`]: entries }, () =>
        entries.length
          ? table(
              entries.map((e) => [
                e.shadowed ? c.dim(e.name) : e.name,
                e.summary,
                e.builtin ? c.dim("built-in") : e.source,
                (e.shadowed ? "(shadowed) " : "") + (e.description ?? ""),
              ]),
              ["NAME", kind === "stage" ? "TERMINATION" : "NODES", "SOURCE", "DESCRIPTION"],
              termWidth(),
            )
          : `no ${kind}s found`,
      );
    },
  });
}

export default listCommand("stage");
