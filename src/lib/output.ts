import { writeSync } from "node:fs";
import { isatty } from "node:tty";

// isatty, not process.stdout.isTTY: making Bun's stdout stream costs more than most commands' own work.
const stdoutTTY = isatty(1);
const stderrTTY = isatty(2);
const useColor = !process.env.NO_COLOR && process.env.TERM !== "dumb" && stdoutTTY;
/** Colour only to a terminal: text from elsewhere (citty's usage) is stripped when this is false. */
export const colorOn = useColor;
const errColor = !process.env.NO_COLOR && process.env.TERM !== "dumb" && stderrTTY;
const quiet = !!process.env.SESSIONS_QUIET;

/** The colour codes this module paints with: the only escape sequences human output may carry, and only on a terminal. */
const OWN_SGR = /(\x1b\[(?:0|1|2|3[1-6])m)/;
/** C0 controls but tab and newline, DEL, C1 controls (some terminals take U+009B as CSI); CRLF is a newline. */
const CONTROL = /\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
const shown = (ch: string) => {
  if (ch === "\r\n") return "\n";
  const n = ch.charCodeAt(0);
  return n < 0x20 ? `^${String.fromCharCode(n + 64)}` : n === 0x7f ? "^?" : `\\u${n.toString(16).padStart(4, "0")}`;
};

/**
 * Text for a person's terminal. Agent output, state files, definitions and error messages may hold
 * escape sequences (OSC 52 clipboard writes, title changes, cursor moves): every control character
 * is shown as `^X` instead (C1 as `\u009b`), except our own colours when `colors` is on. Every
 * human view reaches the terminal through here; --json output is JSON-escaped and stays exact.
 */
export function safe(text: string, colors = useColor): string {
  if (!colors) return text.replace(CONTROL, shown);
  return text
    .split(OWN_SGR)
    .map((part, i) => (i % 2 ? part : part.replace(CONTROL, shown)))
    .join("");
}

/** A human message on stderr (errors, reports shown before a question), neutralized like stdout. */
export function errOut(text: string): void {
  write(2, `${safe(text, errColor)}\n`);
}

/**
 * Logs go to stderr so that stdout carries only data (one JSON document under --json). Plain
 * lines here; prompts are lib/prompt.ts.
 */
export const log = {
  info: (msg: string) => quiet || write(2, `${errColor ? "\x1b[36mℹ\x1b[0m" : "ℹ"} ${safe(msg, errColor)}\n`),
  warn: (msg: string) => write(2, `${errColor ? "\x1b[33mwarning\x1b[0m" : "warning"} ${safe(msg, errColor)}\n`),
  error: (msg: string | undefined) => write(2, `${errColor ? "\x1b[31merror\x1b[0m" : "error"} ${safe(msg ?? "", errColor)}\n`),
};

const paint = (code: string) => (s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
export const c = {
  bold: paint("1"),
  dim: paint("2"),
  red: paint("31"),
  green: paint("32"),
  yellow: paint("33"),
  blue: paint("34"),
  cyan: paint("36"),
};

export const stdoutIsTTY = () => stdoutTTY;

/**
 * Every byte we print goes through here, synchronously, to fd 1 or 2: no stream to set up, output in
 * order with the exit. A reader that went away (`sessions tail | head`: EPIPE) or a terminal that
 * closed (a killed tmux server: EIO) only ends our output on that fd: later writes are dropped,
 * follow loops stop (stdoutClosed), and the command goes on to exit with the code of what it did.
 * A non-blocking terminal that is full (EAGAIN) is waited for.
 */
const gone = { 1: false, 2: false };
export const stdoutClosed = () => gone[1];
export function write(fd: 1 | 2, text: string): void {
  if (gone[fd]) return;
  const buf = Buffer.from(text);
  for (let off = 0; off < buf.length; ) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") Bun.sleepSync(1);
      else {
        gone[fd] = true;
        return;
      }
    }
  }
}

export function out(text = ""): void {
  const t = safe(text);
  write(1, t.endsWith("\n") ? t : `${t}\n`);
}

export function json(data: unknown): void {
  write(1, `${JSON.stringify(data)}\n`);
}

/** With --json print one document, else the human view. */
export function emit(asJson: boolean | undefined, data: unknown, human: () => string | void): void {
  if (asJson) return json(data);
  const text = human();
  if (typeof text === "string" && text.length) out(text);
}

/** The terminal's width when stdout is one (a longer line wraps mid-word there), else none. */
export const termWidth = (): number | undefined => (stdoutTTY ? process.stdout.columns || 80 : undefined);

/** Columns padded to line up; with `width`, the last column is cut (…) so that no line wraps. */
export function table(rows: string[][], header?: string[], width?: number): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell).length)));
  const fit = (cell: string, at: number) => {
    const room = width === undefined ? Infinity : Math.max(10, width - at);
    return visible(cell).length > room ? `${visible(cell).slice(0, room - 1)}…` : cell;
  };
  const fmt = (r: string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? fit(cell, widths.slice(0, i).reduce((a, w) => a + w + 2, 0)) : cell + " ".repeat(widths[i]! - visible(cell).length)))
      .join("  ");
  const lines = all.map(fmt);
  if (header) lines[0] = c.bold(lines[0]!);
  return lines.join("\n");
}

const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "-";
  return duration(now - Date.parse(iso)) + " ago";
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${h % 24}h`;
}

/** A token count for people: 950, 12.4k, 3.1M. */
export function compact(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1e6) return `${(n / 1000).toFixed(n < 1e5 ? 1 : 0)}k`;
  return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
}

/** Dollars for people: two decimals, four below a cent. */
export const usd = (n: number) => `$${n.toFixed(n < 0.01 && n > 0 ? 4 : 2)}`;
