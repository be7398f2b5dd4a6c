/** Bounded reads: nothing an agent or a repository wrote can exhaust memory or hang a reader. */
import { expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { appendLine, readText, readTextTail } from "../../../src/store/fsx.ts";
import { tempRoot } from "../../helpers.ts";

test("a file over the cap is refused with its size, never read whole", () => {
  using root = tempRoot({ git: false });
  const f = join(root.path, "big.json");
  writeFileSync(f, "x".repeat(3 << 20));
  expect(() => readText(f, 1 << 20)).toThrow("big.json is larger than 1 MiB (3 MiB)");
  expect(readText(f, 4 << 20)?.length).toBe(3 << 20);
});

test("a FIFO, a link to /dev/zero and a directory are refused at once", () => {
  using root = tempRoot({ git: false });
  const fifo = join(root.path, "status.json");
  expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
  expect(() => readText(fifo)).toThrow("status.json is not a regular file");
  const zero = join(root.path, "zero.yaml");
  symlinkSync("/dev/zero", zero);
  expect(() => readText(zero)).toThrow("zero.yaml is not a regular file");
  const dir = join(root.path, "dir.json");
  mkdirSync(dir);
  expect(() => readText(dir)).toThrow("dir.json is not a regular file");
  expect(() => readTextTail(fifo, 100)).toThrow("not a regular file");
});

test("a missing file is null; the tail of a file is whole lines", () => {
  using root = tempRoot({ git: false });
  expect(readText(join(root.path, "none"))).toBeNull();
  const f = join(root.path, "out.md");
  writeFileSync(f, "first line\nsecond line\nthird\n");
  expect(readTextTail(f, 10)).toBe("third\n");
  expect(readTextTail(f, 1000)).toBe("first line\nsecond line\nthird\n");
});

test("a line appended after a torn last line starts a line of its own", () => {
  using root = tempRoot({ git: false });
  const f = join(root.path, "events.jsonl");
  writeFileSync(f, '{"a":1}\n{"torn":');
  appendLine(f, '{"b":2}');
  appendLine(f, '{"c":3}');
  expect(readText(f)).toBe('{"a":1}\n{"torn":\n{"b":2}\n{"c":3}\n');
});
