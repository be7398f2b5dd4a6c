import { appendFileSync, closeSync, constants, existsSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

let seq = 0;
/** Write a temp file beside `path`, then rename it over: readers see the old or the new file, never half of one. */
export function writeAtomic(path: string, data: string): void {
  const tmp = `${path}.tmp-${process.pid}-${seq++}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {}
    throw e;
  }
}

export const writeJsonAtomic = (path: string, data: unknown) => writeAtomic(path, `${JSON.stringify(data, null, 2)}\n`);

/** Append one line; after a torn last line (a crash mid-write) it starts on a line of its own, so it is not glued to the torn one. */
export function appendLine(path: string, line: string): void {
  appendFileSync(path, `${endsTorn(path) ? "\n" : ""}${line}\n`);
}

function endsTorn(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const { size } = fstatSync(fd);
    return size > 0 && readRange(fd, size - 1, 1)[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

const MiB = 1 << 20;
const size = (n: number) => (n >= MiB ? `${Math.round(n / MiB)} MiB` : `${Math.round(n / 1024)} KiB`);

/**
 * Open a file to read without ever blocking or following it into a device: a FIFO, a socket, a
 * directory or /dev/zero is refused before a byte is read. Null when it does not exist.
 */
function openRegular(path: string): { fd: number; bytes: number } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  const st = fstatSync(fd);
  if (!st.isFile()) {
    closeSync(fd);
    throw new Error(`${basename(path)} is not a regular file`);
  }
  return { fd, bytes: st.size };
}

/** The bytes [from, from + length) of an open file, stopping early at its end. */
function readRange(fd: number, from: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, from + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

/**
 * A whole text file, at most `maxBytes` (an error says so when it is larger): every file an agent
 * or a repository could have written is read through here, so none can exhaust memory or hang us.
 */
export function readText(path: string, maxBytes = 64 * MiB): string | null {
  const f = openRegular(path);
  if (!f) return null;
  try {
    // One byte more than allowed tells a file that grew past the cap since fstat.
    const buf = readRange(f.fd, 0, Math.min(f.bytes, maxBytes) + 1);
    if (buf.length > maxBytes) throw new Error(`${basename(path)} is larger than ${size(maxBytes)}${f.bytes > maxBytes ? ` (${size(f.bytes)})` : ""}`);
    return buf.toString("utf8");
  } finally {
    closeSync(f.fd);
  }
}

/** The last `maxBytes` of a text file (whole lines when cut), without reading the rest. */
export function readTextTail(path: string, maxBytes: number): string | null {
  const f = openRegular(path);
  if (!f) return null;
  try {
    const from = Math.max(0, f.bytes - maxBytes);
    const text = readRange(f.fd, from, f.bytes - from).toString("utf8");
    return from > 0 ? text.slice(text.indexOf("\n") + 1) : text;
  } finally {
    closeSync(f.fd);
  }
}

/** A directory's entries, or none when it does not exist or cannot be read. */
export function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}

/**
 * A folder of ours in the project (.claude/pipeline-runs, .claude/locks), created with a
 * `.gitignore` of `*`: run files, locks and parallel worktrees never reach an agent's `git add -A`.
 */
export function ensureIgnoredDir(path: string): string {
  mkdirSync(path, { recursive: true });
  // Also for folders made before this existed; one stat per start or lock.
  const ignore = join(path, ".gitignore");
  if (!existsSync(ignore)) writeFileSync(ignore, "*\n");
  return path;
}

/** The last `maxBytes` of a file (whole lines only), without reading all of it. */
export async function readTail(path: string, maxBytes: number): Promise<string> {
  const f = Bun.file(path);
  const size = f.size;
  if (size <= maxBytes) return f.text();
  const text = await f.slice(size - maxBytes).text();
  return text.slice(text.indexOf("\n") + 1);
}
