import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";

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

export function appendLine(path: string, line: string): void {
  appendFileSync(path, `${line}\n`);
}

export function readText(path: string): string | null {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
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
