import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { json, log, out } from "../lib/output.ts";
import { poll } from "../sessions/follow.ts";
import { sessionRef } from "../sessions/overview.ts";
import { followPeek, peek, type Peek } from "../sessions/pane.ts";
import { resolveRoot } from "../store/paths.ts";
import { followArg, jsonArg, num, rootArg, sessionArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "monitor", description: "Peek at the live output without attaching: the tmux pane, or engine.log once tmux is gone" },
  args: {
    ...sessionArg,
    lines: { type: "string", description: "how many lines to show (default 50)" },
    ...followArg,
    ...jsonArg,
    ...rootArg,
  },
  async run({ args }) {
    const root = resolveRoot(args.root);
    const session = sessionRef(args.session);
    const lines = num(args.lines, "--lines", 0, 100_000, true) ?? 50;
    let first = true;
    // --json: one document; with --follow, one document per batch of new lines (JSON Lines).
    const show = (p: Peek) => {
      if (first && p.source === "log") {
        log.info(`${session} has no tmux session (status ${poll(root, session).status}): showing the end of its engine.log`);
      }
      first = false;
      if (args.json) json(p);
      else if (p.lines.length) out(p.lines.join("\n"));
    };
    if (args.follow) await followPeek(root, session, lines, show);
    else show(await peek(root, session, lines));
    return Exit.ok;
  },
});
