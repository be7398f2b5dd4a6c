import { defineCommand } from "citty";
import { Exit } from "../lib/errors.ts";
import { log } from "../lib/output.ts";
import { sessionRef } from "../sessions/overview.ts";
import { attachSession } from "../sessions/pane.ts";
import { resolveRoot } from "../store/paths.ts";
import { insideTmux } from "../tmux.ts";
import { rootArg, sessionArg } from "./_args.ts";

export default defineCommand({
  meta: { name: "attach", description: "Connect this terminal to the session's tmux (read-only unless --write; Ctrl-b d detaches; inside tmux, a read-only window)" },
  args: {
    ...sessionArg,
    write: { type: "boolean", description: "allow typing into the session (by default the view is read-only)" },
    ...rootArg,
  },
  async run({ args }) {
    const tty = !!process.stdin.isTTY && !!process.stdout.isTTY;
    const session = sessionRef(args.session);
    const code = await attachSession(resolveRoot(args.root), session, !!args.write, tty);
    if (code === 0 && insideTmux() && !args.write) {
      log.info(`${session}: a read-only view opened in a new window; it closes when the session ends (--write switches this client over instead)`);
    }
    return code === 0 ? Exit.ok : Exit.failed;
  },
});
