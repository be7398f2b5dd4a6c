/** Looking at a session's terminal without disturbing it: the tmux pane, or engine.log once tmux is gone. */
import { failed } from "../lib/errors.ts";
import { runPaths } from "../store/paths.ts";
import { attach, capturePane, insideTmux } from "../tmux.ts";
import { ended, FileFollower, fileSize, linesAfter, loop, newPaneLines, poll } from "./follow.ts";
import { evidence, ownTmux, requireSession } from "./inspect.ts";
import { selfName } from "../lib/proc.ts";

export interface Peek {
  session: string;
  source: "tmux" | "log";
  lines: string[];
}

/** The last `lines` lines of the pane, trailing blank rows (the empty screen below the cursor) dropped. */
function capture(name: string | null, lines: number): string[] | null {
  const text = name === null ? null : capturePane(name, lines);
  if (text === null) return null;
  return last(trimBlank(text.split("\n")), lines);
}

/** The last `lines` lines of engine.log before byte `end`, reading only as much of it as they need. */
async function logTail(path: string, lines: number, end: number): Promise<string[]> {
  if (lines === 0 || end === 0) return [];
  for (let bytes = 64 * 1024; ; bytes *= 4) {
    const start = Math.max(0, end - bytes);
    let text = await Bun.file(path).slice(start, end).text();
    if (start > 0) text = text.slice(text.indexOf("\n") + 1);
    const got = trimBlank(text.split("\n"));
    if (got.length >= lines || start === 0) return last(got, lines);
  }
}

/** The pane while the tmux session exists, else the end of engine.log. */
export async function peek(root: string, session: string, lines: number): Promise<Peek> {
  requireSession(root, session);
  const pane = capture(ownTmux(root, session)?.name ?? null, lines);
  if (pane) return { session, source: "tmux", lines: pane };
  const path = runPaths(root, session).log;
  return { session, source: "log", lines: await logTail(path, lines, fileSize(path)) };
}

/**
 * peek, then what is new every `everyMs` until the session ends (or Ctrl-C): re-captures of the
 * pane while tmux has it, else the lines appended to engine.log. `show` gets each non-empty batch.
 */
export async function followPeek(root: string, session: string, lines: number, show: (p: Peek) => void, everyMs = 500): Promise<void> {
  requireSession(root, session);
  const path = runPaths(root, session).log;
  // engine.log gets the lines the pane shows: when tmux ends with the engine, it has the last ones.
  const log = FileFollower.atEnd(path);
  // Capture a wider window than is shown, so that a burst between two captures is not lost.
  const window = Math.max(lines, 500);
  const name = ownTmux(root, session)?.name ?? null;
  let prev = capture(name, window);
  if (prev) {
    show({ session, source: "tmux", lines: last(prev, lines) });
    let logged: string[] = [];
    let paneGone = false;
    await loop(() => {
      const done = ended(poll(root, session));
      logged = logged.concat(log.read()).slice(-window);
      const cur = capture(name, window);
      if (!cur) return (paneGone = true);
      const fresh = newPaneLines(prev!, cur);
      if (fresh.length) show({ session, source: "tmux", lines: fresh });
      prev = cur;
      return done;
    }, everyMs);
    if (!paneGone) return;
    const rest = linesAfter(prev, logged.concat(log.read()));
    if (rest.length) show({ session, source: "log", lines: rest });
  } else {
    show({ session, source: "log", lines: await logTail(path, lines, log.offset) });
  }
  await loop(() => {
    const done = ended(poll(root, session));
    const fresh = log.read();
    if (fresh.length) show({ session, source: "log", lines: fresh });
    return done;
  }, everyMs);
}

/**
 * Attach a terminal to the session (read-only unless `write`); from inside tmux the client switches.
 * Returns tmux's exit code.
 */
export async function attachSession(root: string, session: string, write: boolean, tty: boolean): Promise<number> {
  requireSession(root, session);
  const ev = evidence(root, session, false);
  const own = ownTmux(root, session);
  if (!own) {
    throw failed(`session ${session} has no tmux session (status ${ev.status})`, {
      hint: `its output: '${selfName()} monitor ${session}' (engine.log), its events: '${selfName()} tail ${session}'`,
      details: { status: ev.status },
    });
  }
  if (!tty && !insideTmux()) {
    throw failed("tmux attach needs a terminal, and this is not one", {
      hint: `'${selfName()} monitor ${session}' prints the pane; '--follow' keeps printing it`,
    });
  }
  return attach(own.name, write);
}

/** The last n items (slice(-0) would be all of them). */
const last = <T>(xs: T[], n: number) => (n > 0 ? xs.slice(-n) : []);

function trimBlank(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && !lines[end - 1]!.trim()) end--;
  return lines.slice(0, end);
}
