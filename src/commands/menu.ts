import { defineCommand, runCommand, type CommandDef } from "citty";
import { catalog } from "../defs/catalog.ts";
import { Exit } from "../lib/errors.ts";
import { log } from "../lib/output.ts";
import { select } from "../lib/prompt.ts";
import { overview } from "../sessions/overview.ts";
import { resolveRoot } from "../store/paths.ts";
import { commands, type CommandName } from "./index.ts";
import { selfName } from "../lib/proc.ts";

/** The menu's actions, in the order a person reaches for them; those not built in are left out. */
const ACTIONS: { verb: string; label: string; needs: "target" | "session" | "live" | null }[] = [
  { verb: "start", label: "start a stage or pipeline", needs: "target" },
  { verb: "list", label: "list sessions", needs: null },
  { verb: "status", label: "status of a session", needs: "session" },
  { verb: "monitor", label: "monitor a session's output", needs: "session" },
  { verb: "attach", label: "attach to a session's tmux", needs: "live" },
  { verb: "tail", label: "tail a session's events", needs: "session" },
  { verb: "kill", label: "kill a session", needs: "live" },
  { verb: "resume", label: "resume a session", needs: "session" },
  { verb: "cleanup", label: "clean up stale locks and orphans", needs: null },
];


export default defineCommand({
  meta: { name: "menu", description: "interactive menu (what 'sessions' runs on a terminal)", hidden: true },
  args: {},
  async run() {
    const root = resolveRoot();
    const actions = ACTIONS.filter((a) => a.verb in commands);
    const verb = await select("sessions: what do you want to do?", actions.map((a) => ({ label: a.label, value: a.verb })));
    if (!verb) return Exit.ok;
    const needs = actions.find((a) => a.verb === verb)!.needs;
    let rawArgs: string[] = [];
    if (needs === "target") {
      const targets = [...catalog(root, "stage"), ...catalog(root, "pipeline")].filter((e) => !e.shadowed);
      const target = await select("start which?", targets.map((e) => ({ label: `${e.name} (${e.kind})`, value: e.name, hint: e.description ?? e.summary })));
      if (!target) return Exit.ok;
      rawArgs = [target];
    } else if (needs) {
      const rows = overview(root).rows.filter((r) => r.status !== "orphaned" && (needs === "session" || r.tmux || r.alive));
      if (!rows.length) {
        log.info(needs === "live" ? "no session is running" : `no sessions here yet: '${selfName()} start <target>' starts one`);
        return Exit.ok;
      }
      const session = await select(`${verb} which session?`, rows.map((r) => ({ label: r.session, value: r.session, hint: `${r.status}${r.stage ? `, ${r.stage} ${r.iteration}/${r.max}` : ""}` })));
      if (!session) return Exit.ok;
      rawArgs = [session];
    }
    const cmd = (await commands[verb as CommandName]()).default as CommandDef;
    const { result } = await runCommand(cmd, { rawArgs });
    return typeof result === "number" ? result : Exit.ok;
  },
});
