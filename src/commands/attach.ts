import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { sessionRef } from "../sessions/overview.ts";
import { attachSession } from "../sessions/pane.ts";
import { resolveRoot } from "../store/paths.ts";
import { rootArg, sessionArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "attach", description: "Connect this terminal to the session's tmux (read-only unless --write; Ctrl-b d detaches)" },
  args: {
    ...sessionArg,
    write: { type: "boolean", description: "allow typing into the session (by default the view is read-only)" },
    ...rootArg,
  },
  async run({ args }) {
    const tty = !!process.stdin.isTTY && !!process.stdout.isTTY;
    const code = await attachSession(resolveRoot(args.root), sessionRef(args.session), !!args.write, tty);
    return code === 0 ? Exit.ok : Exit.failed;
  },
});
