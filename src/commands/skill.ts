import { defineCommand } from "citty";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative } from "node:path";
import { conflict, Exit, usage } from "../lib/errors.ts";
import { c, emit } from "../lib/output.ts";
import { selfArgv } from "../lib/proc.ts";
import { resolveRoot } from "../store/paths.ts";
import { jsonArg, rootArg } from "./_args.ts";
import template from "./skill.md" with { type: "text" };

export default defineCommand({
  meta: { name: "skill", description: "Print the Claude Code skill that drives this binary, or install it into <root>/.claude/skills/sessions/" },
  args: {
    action: { type: "positional", required: false, description: "install: write it to <root>/.claude/skills/sessions/SKILL.md" },
    force: { type: "boolean", description: "install: overwrite a different existing SKILL.md" },
    ...jsonArg,
    ...rootArg,
  },
  run({ args }) {
    const root = resolveRoot(args.root);
    const text = template.replaceAll("{{bin}}", invocation(root));
    if (args.action === undefined) {
      emit(args.json, { name: "sessions", content: text }, () => text);
      return Exit.ok;
    }
    if (args.action !== "install") throw usage(`unknown skill action ${JSON.stringify(args.action)}`, { hint: "'sessions skill' prints it, 'sessions skill install' installs it" });
    const path = join(root, ".claude", "skills", "sessions", "SKILL.md");
    const existing = readOrNull(path);
    if (existing !== null && existing !== text && !args.force) {
      throw conflict(`${path} exists and differs from this version's skill`, { hint: "pass --force to overwrite it (your edits are lost)" });
    }
    const written = existing !== text;
    if (written) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
    emit(args.json, { path, written }, () => (written ? `${c.green("installed")} ${path}` : `${path} is already up to date`));
    return Exit.ok;
  },
});

/**
 * The command that runs this binary, relative to the project root when the binary lives inside it
 * (`./scripts/sessions`: the skill then works in every clone), else absolute.
 */
function invocation(root: string): string {
  return selfArgv()
    .map((p) => {
      const rel = relative(root, p);
      const path = rel.startsWith("..") || isAbsolute(rel) ? p : `./${rel}`;
      return /^[\w./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
    })
    .join(" ");
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
}
