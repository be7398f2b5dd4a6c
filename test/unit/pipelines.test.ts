import { expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { library } from "../../pipelines/index.ts";
import { REPO } from "../helpers.ts";

test("every file of the built-in library is embedded (pipelines/index.ts lists it)", () => {
  const dir = join(REPO, "pipelines");
  const walk = (d: string): string[] => readdirSync(d).flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [relative(dir, join(d, n))]));
  const files = walk(dir).filter((f) => /\.(ya?ml|md)$/.test(f)).sort();
  expect(Object.keys(library).sort()).toEqual(files);
});
