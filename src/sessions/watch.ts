/**
 * `sessions watch`: a full-screen live view of every session of a root. The screen is a pure
 * function of the rows (tested without a terminal); the loop owns the terminal and gives it back
 * as it found it on every way out (q, Ctrl-C, a signal, an error).
 */
import { c, duration } from "../lib/output.ts";
import { selfArgv, selfName } from "../lib/proc.ts";
import { tailEvents } from "../store/events.ts";
import { runPaths } from "../store/paths.ts";
import { HistoryEntrySchema, type HistoryEntry } from "../store/state.ts";
import * as v from "valibot";
import { overview, clock, type SessionRow } from "./overview.ts";
import { nothingToStop, planStop, stopSession } from "./stop.ts";
import { inspect } from "./inspect.ts";
import { paintStatus, progressBar, spent, statusView } from "./view.ts";

export interface WatchRow extends SessionRow {
  last: Pick<HistoryEntry, "decision" | "summary" | "reason"> | null;
}

export interface Screen {
  rows: WatchRow[];
  selected: number;
  width: number;
  height: number;
  root: string;
  /** A line under the table: a confirmation question or what the last action did. */
  message: string;
  now: number;
}

/** Agent text on the screen: one line, no control characters (no escape sequence reaches the terminal). */
const clean = (s: string) => s.replace(/[\x00-\x1f\x7f-\x9f]+/g, " ");

/** Cut to `n` visible columns (colour codes kept whole). */
function fit(s: string, n: number): string {
  let out = "";
  let seen = 0;
  for (const part of s.split(/(\x1b\[[0-9;]*m)/)) {
    if (part.startsWith("\x1b[")) {
      out += part;
      continue;
    }
    const room = n - seen;
    if (room <= 0) continue;
    out += part.length > room ? `${part.slice(0, Math.max(0, room - 1))}…` : part;
    seen += Math.min(part.length, room);
  }
  return out;
}

const pad = (s: string, n: number) => s + " ".repeat(Math.max(0, n - Bun.stringWidth(s)));

export const KEYS = "↑/↓ select · Enter status · m monitor · a attach · k kill · q quit";

/** The whole screen as lines, each at most `width` columns. */
export function renderScreen(s: Screen): string[] {
  const lines: string[] = [];
  const title = `sessions watch — ${clean(s.root)}`;
  const right = `${s.rows.length} session${s.rows.length === 1 ? "" : "s"} · ${clock(new Date(s.now).toISOString())}`;
  lines.push(c.bold(fit(`${pad(title, s.width - right.length - 1)} ${right}`, s.width)));
  lines.push("");
  if (!s.rows.length) lines.push(`no sessions here yet: '${selfName()} start <target>' starts one`);
  else {
    const w = { session: Math.min(24, Math.max(7, ...s.rows.map((r) => r.session.length))), status: 19, stage: 14, iter: 22, cost: 9, age: 7 };
    const head = [pad("SESSION", w.session), pad("STATUS", w.status), pad("STAGE", w.stage), pad("ITERATION", w.iter), pad("COST", w.cost), pad("AGE", w.age), "LAST"].join(" ");
    lines.push(c.dim(fit(`  ${head}`, s.width)));
    // The table scrolls so the selected row stays on screen.
    const room = Math.max(1, s.height - lines.length - 3);
    const first = Math.min(Math.max(0, s.selected - room + 1), Math.max(0, s.rows.length - room));
    for (const [i, r] of s.rows.slice(first, first + room).entries()) {
      const at = first + i;
      const flags = [r.stalled ? c.yellow("stalled") : "", /waiting until/.test(r.note) ? c.yellow("waiting") : ""].filter(Boolean).join(" ");
      const status = `${paintStatus(r.status)}${flags ? ` ${flags}` : ""}`;
      const iter = r.iteration === null ? "-" : r.max ? `${r.iteration}/${r.max} ${progressBar(r.iteration, r.max, 8).split("]")[0]}]` : String(r.iteration);
      const last = r.last ? `${r.last.decision}: ${clean((r.last.decision === "failed" ? r.last.reason : (r.last.summary ?? r.last.reason)) ?? "")}` : clean(r.note);
      const started = Date.parse(r.started_at ?? "");
      const cells = [
        pad(fit(r.session, w.session), w.session),
        pad(fit(status, w.status), w.status),
        pad(fit(clean(r.stage ?? "-"), w.stage), w.stage),
        pad(iter, w.iter),
        pad(spent(r.cost_usd, r.tokens), w.cost),
        pad(Number.isNaN(started) ? "-" : duration(s.now - started), w.age),
        last,
      ].join(" ");
      const line = fit(`${at === s.selected ? ">" : " "} ${cells}`, s.width);
      lines.push(at === s.selected ? `\x1b[7m${pad(line, s.width)}\x1b[0m` : line);
    }
  }
  while (lines.length < s.height - 2) lines.push("");
  lines.push(fit(s.message ? c.yellow(clean(s.message)) : "", s.width));
  lines.push(c.dim(fit(KEYS, s.width)));
  return lines.slice(0, s.height);
}

/** The rows, each with its last decision from the end of its events.jsonl (only the rows that fit on screen are read). */
export async function watchRows(root: string, visible: number): Promise<WatchRow[]> {
  const rows = overview(root).rows;
  return Promise.all(
    rows.map(async (r, i) => {
      if (i >= visible || r.status === "orphaned") return { ...r, last: null };
      const tail = await tailEvents(runPaths(root, r.session).events, 20).catch(() => ({ events: [] }));
      const e = tail.events.findLast((x) => x.type === "iteration_complete");
      const h = e ? v.safeParse(HistoryEntrySchema, e.data) : null;
      return { ...r, last: h?.success ? { decision: h.output.decision, summary: h.output.summary, reason: h.output.reason } : null };
    }),
  );
}

const ENTER = "\x1b[?1049h\x1b[?25l";
const LEAVE = "\x1b[?25h\x1b[?1049l";

/** Run the view until q or Ctrl-C; the terminal is restored however it ends. */
export async function watch(root: string, everyMs = 1000): Promise<void> {
  const stdin = process.stdin;
  const stdout = process.stdout;
  let rows: WatchRow[] = [];
  let selected = 0;
  let message = "";
  let confirmKill: string | null = null;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  let busy = false;
  /** Set once the terminal is given back: a refresh still in flight must not draw on it. */
  let stopped = false;

  const draw = () => {
    if (stopped) return;
    const screen = renderScreen({ rows, selected, width: stdout.columns || 80, height: stdout.rows || 24, root, message, now: Date.now() });
    stdout.write(`\x1b[H${screen.map((l) => `${l}\x1b[K`).join("\r\n")}\x1b[J`);
  };
  const refresh = async () => {
    rows = await watchRows(root, Math.max(1, (stdout.rows || 24) - 5));
    selected = Math.min(selected, Math.max(0, rows.length - 1));
    if (!busy) draw();
  };
  const enter = () => {
    stdout.write(ENTER);
    stdin.setRawMode(true);
    stdin.resume();
  };
  const leave = () => {
    stdin.setRawMode(false);
    stdout.write(LEAVE);
  };
  /** Hand the terminal to another program (monitor, attach, the status page), then take it back. */
  const away = async (fn: () => Promise<void>) => {
    busy = true;
    // Ctrl-C there ends monitor (or the page), not watch.
    const ignore = () => {};
    process.off("SIGINT", onSignal);
    process.on("SIGINT", ignore);
    stdin.off("data", onKey);
    leave();
    stdin.pause();
    try {
      await fn();
    } finally {
      process.off("SIGINT", ignore);
      process.on("SIGINT", onSignal);
      enter();
      stdin.on("data", onKey);
      busy = false;
      await refresh();
    }
  };
  const self = async (args: string[]) => {
    const p = Bun.spawn([...selfArgv(), ...args, "--root", root], { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
    await p.exited;
  };
  const anyKey = () =>
    new Promise<void>((r) => {
      stdin.setRawMode(true);
      stdin.resume();
      stdin.once("data", () => {
        stdin.setRawMode(false);
        stdin.pause();
        r();
      });
    });

  const onKey = async (buf: Buffer) => {
    const key = buf.toString();
    const row = rows[selected];
    if (key === "\x03" || (key === "q" && !confirmKill)) return done();
    if (confirmKill) {
      const name = confirmKill;
      confirmKill = null;
      if (key === "y" || key === "Y") {
        message = `killing ${name}…`;
        draw();
        try {
          const plan = await planStop(root, name);
          const r = nothingToStop(plan) ? null : await stopSession(root, plan);
          message = r ? `killed ${name}: ${r.killed.join(", ") || "nothing was running"} (status ${r.status})` : `${name}: nothing to stop`;
        } catch (e) {
          message = `kill ${name}: ${(e as Error).message}`;
        }
      } else message = "nothing was killed";
      return refresh();
    }
    if (key === "\x1b[A" || key === "\x1bOA") selected = Math.max(0, selected - 1);
    else if (key === "\x1b[B" || key === "\x1bOB") selected = Math.min(rows.length - 1, selected + 1);
    else if (!row) return;
    else if (key === "\r" || key === "\n") {
      return away(async () => {
        const text = statusView(inspect(root, row.session), { tty: true });
        stdout.write(`${text}\n\n${c.dim("press any key to return")}\n`);
        await anyKey();
      });
    } else if (key === "m") {
      return away(async () => {
        stdout.write(c.dim(`monitor ${row.session} (Ctrl-C returns to watch)\n`));
        await self(["monitor", row.session, "--follow"]);
      });
    } else if (key === "a") {
      if (!row.tmux) message = `${row.session} has no tmux session to attach to`;
      else return away(() => self(["attach", row.session]));
    } else if (key === "k") {
      confirmKill = row.session;
      message = `kill ${row.session}? y to confirm, any other key to keep it`;
    }
    draw();
  };

  const onSignal = () => done();
  const onResize = () => void refresh();
  // Restores the terminal even when the process ends some other way.
  const onExit = () => stdout.write(LEAVE);
  enter();
  stdin.on("data", onKey);
  stdout.on("resize", onResize);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  process.on("SIGINT", onSignal);
  process.on("exit", onExit);
  const timer = setInterval(() => void refresh().catch(() => {}), everyMs);
  try {
    await refresh();
    await finished;
  } finally {
    stopped = true;
    clearInterval(timer);
    stdin.off("data", onKey);
    stdout.off("resize", onResize);
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
    process.off("SIGINT", onSignal);
    process.off("exit", onExit);
    leave();
    // Nothing reads the terminal after watch: no handle on it may keep the process alive.
    stdin.destroy();
  }
}
