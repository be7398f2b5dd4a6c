/** Watching a session from outside: new lines of a growing file, and whether the session has ended. */
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { stdoutClosed } from "../lib/output.ts";
import { sleep } from "../lib/proc.ts";
import { parseEvents, tailEvents, type EventsRead } from "../store/events.ts";
import { runPaths } from "../store/paths.ts";
import { evidence, requireSession, type Evidence } from "./inspect.ts";

/**
 * The complete lines appended to a file since `offset`. A partial last line (the writer is mid-line)
 * is kept for the next read; a file that shrank (replaced) is read again from its start.
 */
export class FileFollower {
  private rest = "";
  private readonly decoder = new TextDecoder();

  constructor(
    readonly path: string,
    private pos: number,
  ) {}

  /** How far the file has been read. */
  get offset(): number {
    return this.pos;
  }

  /** Follow from the current end of the file (0 when it does not exist yet). */
  static atEnd(path: string): FileFollower {
    return new FileFollower(path, fileSize(path));
  }

  read(): string[] {
    const size = fileSize(this.path);
    if (size < this.pos) {
      this.pos = 0;
      this.rest = "";
    }
    if (size === this.pos) return [];
    const buf = Buffer.alloc(size - this.pos);
    const fd = openSync(this.path, "r");
    try {
      readSync(fd, buf, 0, buf.length, this.pos);
    } finally {
      closeSync(fd);
    }
    this.pos = size;
    const text = this.rest + this.decoder.decode(buf, { stream: true });
    const lines = text.split("\n");
    this.rest = lines.pop()!;
    return lines;
  }

  /** New events; torn or garbage lines come back in `bad`. */
  readEvents(): EventsRead {
    const lines = this.read();
    return lines.length ? parseEvents(`${lines.join("\n")}\n`) : { events: [], bad: [] };
  }
}

export function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Ended: the engine is not alive. judge() counts an engine alive only while the state says
 * running/paused and its pid (or lock) lives, so complete, failed, killed and crashed all end it.
 */
export const ended = (ev: Evidence) => !ev.alive;

/** The evidence without asking tmux, for polling loops that only need to know whether it ended. */
export const poll = (root: string, session: string) => evidence(root, session, false);

/**
 * Call `step` every `everyMs` until it returns true or the user presses Ctrl-C; returns how it
 * stopped. Ctrl-C ends a follow quietly instead of killing the process with 130, and so does the
 * reader of stdout going away (`| head`).
 */
export async function loop(step: () => boolean | Promise<boolean>, everyMs: number, deadline = Infinity): Promise<"done" | "interrupted" | "timeout"> {
  let interrupted = false;
  const onInt = () => {
    interrupted = true;
  };
  process.on("SIGINT", onInt);
  try {
    for (;;) {
      if (await step()) return "done";
      if (interrupted || stdoutClosed()) return "interrupted";
      if (Date.now() >= deadline) return "timeout";
      await sleep(Math.max(0, Math.min(everyMs, deadline - Date.now())));
      if (interrupted) return "interrupted";
    }
  } finally {
    process.off("SIGINT", onInt);
  }
}

/**
 * What a re-captured pane adds to the previous capture. A capture is a sliding window, so the new
 * one starts somewhere inside the old one; the old last line may have grown meanwhile (the writer
 * was mid-line), and is then printed again in full. No overlap at all: the screen was cleared or
 * scrolled past the window, and everything is new.
 */
export function newPaneLines(prev: string[], cur: string[]): string[] {
  if (!prev.length) return cur;
  for (let d = 0; d < prev.length; d++) {
    const n = prev.length - d;
    if (n > cur.length) continue;
    let same = true;
    for (let i = 0; i < n - 1 && same; i++) same = prev[d + i] === cur[i];
    if (!same) continue;
    const last = prev[prev.length - 1]!;
    if (cur[n - 1] === last) return cur.slice(n);
    if (cur[n - 1]!.startsWith(last)) return cur.slice(n - 1);
  }
  return cur;
}

/**
 * The lines of `log` after the last ones a pane showed: its last three lines, else two, else one
 * (the log may begin after the pane's older lines; tmux trims trailing spaces, so compare without
 * them). Not found: the pane showed nothing of `log`, all of it is new.
 */
export function linesAfter(shown: string[], log: string[]): string[] {
  const last = shown.filter((l) => l.trim()).map((l) => l.trimEnd());
  for (let k = Math.min(3, last.length); k > 0; k--) {
    const tail = last.slice(-k);
    for (let i = log.length - k; i >= 0; i--) {
      if (tail.every((t, j) => log[i + j]!.trimEnd() === t)) return log.slice(i + k);
    }
  }
  return log;
}

export interface EventsTail extends EventsRead {
  /** Continues after the events returned, without repeating them. */
  next: () => EventsRead;
}

/** The last `n` events of a session, and a reader for the ones that come after them. */
export async function eventsTail(root: string, session: string, n: number): Promise<EventsTail> {
  requireSession(root, session);
  const path = runPaths(root, session).events;
  const follower = FileFollower.atEnd(path);
  const first = n > 0 ? await tailEvents(path, n) : { events: [], bad: [] };
  // Events appended while the tail was read appear in both: the first follow read skips those.
  let seen: Set<string> | null = new Set(first.events.map((e) => JSON.stringify(e)));
  const next = () => {
    const r = follower.readEvents();
    if (seen) {
      const s = seen;
      r.events = r.events.filter((e) => !s.has(JSON.stringify(e)));
      seen = null;
    }
    return r;
  };
  return { ...first, next };
}
