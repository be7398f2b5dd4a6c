/** Looking at a session's terminal without disturbing it: the tmux pane, or engine.log once tmux is gone. */
import { failed } from "../lib/errors.ts";
import { tmuxName } from "../lib/names.ts";
import { readTail } from "../store/fsx.ts";
import { runPaths } from "../store/paths.ts";
import { attach, capturePane, hasSession, insideTmux } from "../tmux.ts";
import { evidence, requireSession } from "./inspect.ts";

export interface Peek {
  session: string;
  source: "tmux" | "log";
  lines: string[];
}

/** The last `lines` lines of the pane, trailing blank rows (the empty screen below the cursor) dropped. */
export function capture(session: string, lines: number): string[] | null {
  const text = capturePane(tmuxName(session), lines);
  if (text === null) return null;
  return trimBlank(text.split("\n")).slice(-lines);
}

/** The last `lines` lines of engine.log, reading only as much of its end as they need. */
export async function logTail(root: string, session: string, lines: number): Promise<string[]> {
  const path = runPaths(root, session).log;
  const f = Bun.file(path);
  if (!(await f.exists()) || lines === 0) return [];
  for (let bytes = 64 * 1024; ; bytes *= 4) {
    const got = trimBlank((await readTail(path, bytes)).split("\n"));
    if (got.length >= lines || bytes >= f.size) return got.slice(-lines);
  }
}

/** The pane while the tmux session exists, else the end of engine.log. */
export async function peek(root: string, session: string, lines: number): Promise<Peek> {
  requireSession(root, session);
  const pane = capture(session, lines);
  if (pane) return { session, source: "tmux", lines: pane };
  return { session, source: "log", lines: await logTail(root, session, lines) };
}

export const tmuxAlive = (session: string) => hasSession(tmuxName(session));

/**
 * Attach a terminal to the session (read-only unless `write`); from inside tmux the client switches.
 * Returns tmux's exit code.
 */
export async function attachSession(root: string, session: string, write: boolean, tty: boolean): Promise<number> {
  requireSession(root, session);
  const ev = evidence(root, session);
  if (!ev.tmux) {
    throw failed(`session ${session} has no tmux session (${tmuxName(session)} is gone; status ${ev.status})`, {
      hint: `its output: 'sessions monitor ${session}' (engine.log), its events: 'sessions tail ${session}'`,
      details: { status: ev.status },
    });
  }
  if (!tty && !insideTmux()) {
    throw failed("tmux attach needs a terminal, and this is not one", {
      hint: `'sessions monitor ${session}' prints the pane; '--follow' keeps printing it`,
    });
  }
  return attach(tmuxName(session), write);
}

function trimBlank(lines: string[]): string[] {
  let end = lines.length;
  while (end > 0 && !lines[end - 1]!.trim()) end--;
  return lines.slice(0, end);
}
