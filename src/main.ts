import type { ArgsDef, CommandDef } from "citty";
import { renderUsage, runCommand } from "citty";
import { variadic } from "./commands/_args.ts";
import { commands, visibleCommands, type CommandName } from "./commands/index.ts";
import { Exit, SessionsError, usage } from "./lib/errors.ts";
import { c, colorOn, errOut, json, log, out } from "./lib/output.ts";
import { selfName } from "./lib/proc.ts";
import { closest } from "./lib/suggest.ts";

const HELP_FLAGS = new Set(["--help", "-h"]);

export async function main(argv: string[], version: string): Promise<number> {
  const asJson = argv.includes("--json");
  try {
    const [name, ...rest] = argv;
    if (!name || name === "help" || HELP_FLAGS.has(name)) {
      if (name === "help" && rest[0]) return await help(known(rest[0]));
      if (!name && process.stdin.isTTY && process.stdout.isTTY) return await run("menu", []);
      out(await rootHelp(version));
      return Exit.ok;
    }
    if (rest.some((a) => HELP_FLAGS.has(a))) return await help(known(name));
    return await run(known(name), rest);
  } catch (e) {
    return report(e, asJson);
  }
}

function known(name: string): CommandName {
  if (name in commands) return name as CommandName;
  throw usage(`unknown command ${JSON.stringify(name)}`, { hint: didYouMean(name, visibleCommands()) ?? `run '${selfName()} --help' for the list` });
}

async function load(name: CommandName): Promise<CommandDef> {
  return (await commands[name]()).default as CommandDef;
}

async function run(name: CommandName, rawArgs: string[]): Promise<number> {
  const cmd = await load(name);
  const args = (typeof cmd.args === "function" ? await cmd.args() : await cmd.args) as ArgsDef | undefined;
  checkArgs(rawArgs, args ?? {});
  const result = await runCommand(cmd, { rawArgs });
  return typeof result.result === "number" ? result.result : Exit.ok;
}

/**
 * citty lets through what it does not know: an unknown flag (--forground), a flag without its
 * value (`--model` at the end, `--provider --json`), and words beyond the positionals it declares.
 * Each is a usage error here, named, before the command runs.
 */
function checkArgs(rawArgs: string[], args: ArgsDef): void {
  const known = new Map<string, string>();
  const positionals = Object.values(args).filter((d) => d.type === "positional");
  for (const [key, def] of Object.entries(args)) {
    if (def.type === "positional") continue;
    known.set(key, def.type ?? "string");
    const aliases = "alias" in def && def.alias ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
    for (const a of aliases) known.set(a, def.type ?? "string");
  }
  const words: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const a = rawArgs[i]!;
    if (a === "--") {
      words.push(...rawArgs.slice(i + 1));
      break;
    }
    if (/^-\d/.test(a)) throw usage(`${a}: negative numbers are not accepted here`);
    if (!a.startsWith("-") || a === "-") {
      words.push(a);
      continue;
    }
    const long = a.startsWith("--");
    const raw = a.replace(/^--?/, "");
    const name = raw.split("=")[0]!;
    const flag = a.split("=")[0]!;
    const type = known.get(name) ?? (long && name.startsWith("no-") ? known.get(name.slice(3)) : undefined);
    if (!type) throw usage(`unknown flag ${flag}`, { hint: didYouMean(name, [...known.keys()], "--") ?? "see --help" });
    if (type !== "string") continue;
    const inline = raw.includes("=");
    const value = inline ? raw.slice(name.length + 1) : rawArgs[++i];
    // A following flag is not a value: `--provider --json` names no provider.
    if (value === undefined || value === "" || (!inline && /^-[^\d]/.test(value))) {
      throw usage(`${flag} needs a value`, { hint: `${flag} <value>, or ${flag}=<value>; see --help` });
    }
  }
  if (positionals.some((p) => variadic.has(p))) return;
  const extra = words.slice(positionals.length);
  if (extra.length) throw usage(`unexpected argument ${JSON.stringify(extra[0])}`, { hint: "see --help" });
}

async function help(name: CommandName): Promise<number> {
  const cmd = await load(name);
  // citty colours its usage whatever stdout is; the parent names us as we were invoked.
  const text = await renderUsage(cmd, { meta: { name: selfName() } });
  out(colorOn ? text : Bun.stripANSI(text));
  return Exit.ok;
}

/** The table comes from each command's own meta.description: loading them all costs only `--help`. */
async function rootHelp(version: string): Promise<string> {
  const names = visibleCommands();
  const metas = await Promise.all(names.map(async (n) => ((await load(n)).meta ?? {}) as { description?: string }));
  const pad = Math.max(...names.map((n) => n.length)) + 2;
  const rows = names.map((n, i) => `  ${n.padEnd(pad)}${metas[i]!.description ?? ""}`);
  return [
    `${c.bold("sessions")} ${version} — run autonomous coding-agent pipelines in tmux`,
    "",
    `${c.bold("USAGE")} ${selfName()} <command> [options]`,
    "",
    c.bold("COMMANDS"),
    ...rows,
    "",
    `Every reporting command takes --json. '${selfName()} <command> --help' for its options.`,
    "Exit codes: 0 ok, 1 failed, 2 usage/invalid definition, 3 not found, 4 conflict, 5 missing dependency.",
  ].join("\n");
}

function didYouMean(name: string, options: string[], prefix = ""): string | undefined {
  const s = closest(name, options, 2);
  return s === undefined ? undefined : `did you mean '${prefix}${s}'?`;
}

function report(e: unknown, asJson: boolean): number {
  let err: SessionsError;
  if (e instanceof SessionsError) err = e;
  else if (e instanceof Error && e.name === "CLIError") err = usage(Bun.stripANSI(e.message), { hint: "see --help" });
  else {
    const msg = e instanceof Error ? e.message : String(e);
    err = new SessionsError(msg, Exit.failed, process.env.DEBUG ? undefined : "set DEBUG=1 for the stack trace");
    if (process.env.DEBUG && e instanceof Error) log.error(e.stack);
  }
  if (asJson) json({ error: err.toJSON() });
  else {
    errOut(`${c.red("error")} ${err.display}`);
    if (err.hint) errOut(`  ${c.dim(err.hint)}`);
  }
  return err.exit;
}
