import { appendEvent } from "../store/events.ts";
import { runPaths } from "../store/paths.ts";
import { endState, writeState, type State } from "../store/state.ts";

/**
 * End a session's state from the outside, as its engine would have had it lived: the event first
 * (the source of truth), then the atomic state rewrite. Used for sessions whose engine is gone.
 * `dir` names the run directory the state was read from: an archived `{session}.{timestamp}` run
 * still says `session: {session}` inside, and must be settled where it lies.
 */
export function settleState(
  root: string,
  dir: string,
  s: State,
  end: { status: "failed" | "killed"; message: string; kind: "crash" | "signal"; event: string; data: Record<string, unknown> },
): void {
  const paths = runPaths(root, dir);
  endState(s, end);
  appendEvent(paths.events, { type: end.event, session: s.session, cursor: null, data: { ...end.data, error: s.error } });
  writeState(paths.state, s);
}
