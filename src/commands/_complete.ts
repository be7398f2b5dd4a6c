import { defineCommand, type ArgsDef, type CommandDef } from "citty";
import { catalog } from "../defs/catalog.ts";
import { DEF_NAME } from "../lib/names.ts";
import { out } from "../lib/output.ts";
import { sessionNames } from "../sessions/inspect.ts";
import { resolveRoot } from "../store/paths.ts";
import { commands, type CommandName } from "./index.ts";

/** Verbs whose first argument is a definition; the others that take one take a session. */
const TARGET_VERBS = new Set(["start", "lint"]);

/** Words for the completion scripts: a verb's flags, or what its first argument can be. Never fails loudly. */
export default defineCommand({
  meta: { name: "_complete", description: "completion words (used by 'sessions completion')" },
  args: {
    what: { type: "positional", required: true, description: "flags | args" },
    verb: { type: "positional", required: false, description: "the verb being completed" },
  },
  async run({ args }) {
    const verb = args.verb ?? "";
    if (!(verb in commands)) return;
    const cmd = (await commands[verb as CommandName]()).default as CommandDef;
    const defs = ((typeof cmd.args === "function" ? await cmd.args() : await cmd.args) ?? {}) as ArgsDef;
    if (args.what === "flags") {
      out(Object.entries(defs).filter(([, d]) => d.type !== "positional").map(([k]) => `--${k}`).join("\n"));
      return;
    }
    if (!Object.values(defs).some((d) => d.type === "positional")) return;
    const root = resolveRoot();
    // Only names start accepts: a file name is no place for shell syntax to come from.
    const targets = () => [...new Set([...catalog(root, "stage"), ...catalog(root, "pipeline")].map((e) => e.name))].filter((n) => DEF_NAME.test(n));
    const words = TARGET_VERBS.has(verb) ? targets() : sessionNames(root);
    if (words.length) out(words.join("\n"));
  },
});
