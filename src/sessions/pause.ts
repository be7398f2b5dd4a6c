import { failed } from "../lib/errors.ts";
import { checkSessionName } from "../lib/names.ts";
import { isSameProcess, selfName, waitFor } from "../lib/proc.ts";
import { readControl, writeControl } from "../store/control.ts";
import { runPaths } from "../store/paths.ts";
import { readState, type DisplayStatus } from "../store/state.ts";
import { evidence, requireSession } from "./inspect.ts";

export interface PauseResult {
  session: string;
  pause_requested: true;
  status: DisplayStatus;
}

/**
 * Ask a live engine to hold after its running iteration (it reads control.json between iterations);
 * with `wait`, return once the state says paused, or the session ended first.
 */
export async function pause(root: string, session: string, wait: boolean): Promise<PauseResult> {
  checkSessionName(session);
  requireSession(root, session);
  const paths = runPaths(root, session);
  const ev = evidence(root, session);
  if (!ev.alive || !ev.state) {
    throw failed(`session ${session} has no live engine to pause (status ${ev.status})`, {
      hint: ev.status === "crashed" ? `'${selfName()} cleanup' tidies it up, '${selfName()} resume ${session}' continues it` : `'${selfName()} status ${session}' shows it`,
    });
  }
  if (ev.state.status !== "paused") {
    writeControl(paths.dir, { ...(readControl(paths.dir) ?? { context: null, budget: null }), pause: true });
  }
  if (wait) {
    const { pid, pid_start } = ev.state;
    await waitFor(() => {
      const s = readState(paths.state);
      return !isSameProcess(pid, pid_start) || (s.ok && s.state.status !== "running");
    }, Number.MAX_SAFE_INTEGER, 100);
  }
  return { session, pause_requested: true, status: evidence(root, session).status };
}
