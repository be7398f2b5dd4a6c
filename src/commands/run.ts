import { defineCommand } from "citty";
import { runSession } from "../engine/run.ts";
import { Exit } from "../lib/errors.ts";
import { checkSessionName } from "../lib/names.ts";
import { json } from "../lib/output.ts";
import { inspect } from "../sessions/inspect.ts";
import { refuseComplete } from "../sessions/resume.ts";
import { resolveRoot, runPaths } from "../store/paths.ts";
import { readState } from "../store/state.ts";
import { jsonArg, num, rootArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "run", description: "Run a prepared session's engine in this terminal (what tmux runs)" },
  args: {
    session: { type: "positional", required: true, description: "session name" },
    handoff: { type: "string", description: "pid of the `start` that holds the lock and hands it over (set by start)" },
    tmux: { type: "string", description: "the tmux session this engine runs in (set by start)" },
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const session = checkSessionName(args.session);
    const stored = readState(runPaths(root, session).state);
    if (stored.ok) refuseComplete(stored.state, "run");
    const handoff = num(args.handoff, "--handoff", 1, 2 ** 31, true);
    const state = await runSession({
      root,
      session,
      handoff,
      tmux: args.tmux ?? null,
      takeStale: !handoff,
      echo: args.json ? "stderr" : "stdout",
      interactive: !handoff,
    });
    if (args.json) json(inspect(root, session));
    return state.status === "complete" ? Exit.ok : Exit.failed;
  },
});
