import type { ConsolaInstance } from "consola";

const useColor = !process.env.NO_COLOR && process.env.TERM !== "dumb" && !!process.stdout.isTTY;
const errColor = !process.env.NO_COLOR && process.env.TERM !== "dumb" && !!process.stderr.isTTY;
const quiet = !!process.env.SESSIONS_QUIET;

/**
 * Logs go to stderr so that stdout carries only data (one JSON document under --json). Plain lines
 * here; consola (and its start-up cost) loads only for prompts, which few commands need.
 */
export const log = {
  info: (msg: string) => quiet || process.stderr.write(`${errColor ? "\x1b[36mℹ\x1b[0m" : "ℹ"} ${msg}\n`),
  warn: (msg: string) => process.stderr.write(`${errColor ? "\x1b[33mwarning\x1b[0m" : "warning"} ${msg}\n`),
  error: (msg: string | undefined) => process.stderr.write(`${errColor ? "\x1b[31merror\x1b[0m" : "error"} ${msg ?? ""}\n`),
  /** A consola prompt on stderr; Ctrl-C gives a symbol, not the default answer. */
  async prompt(...args: Parameters<ConsolaInstance["prompt"]>) {
    const { createConsola } = await import("consola");
    return createConsola({ stdout: process.stderr, stderr: process.stderr }).prompt(...args);
  },
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

export const stdoutIsTTY = () => !!process.stdout.isTTY;

export function out(text = ""): void {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
}

export function json(data: unknown): void {
  process.stdout.write(`${JSON.stringify(data)}\n`);
}

/** With --json print one document, else the human view. */
export function emit(asJson: boolean | undefined, data: unknown, human: () => string | void): void {
  if (asJson) return json(data);
  const text = human();
  if (typeof text === "string" && text.length) out(text);
}

export function table(rows: string[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const widths: number[] = [];
  for (const r of all) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell).length)));
  const fmt = (r: string[]) =>
    r.map((cell, i) => (i === r.length - 1 ? cell : cell + " ".repeat(widths[i]! - visible(cell).length))).join("  ");
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
