import { expect, test } from "bun:test";
import { rootTag, sessionOfTmux, tmuxNames } from "../../../src/lib/names.ts";

test("a session's tmux names: the plain one first, then one tagged with its root", () => {
  const tag = rootTag("/work/a");
  expect(tag).toMatch(/^[0-9a-f]{6}$/);
  expect(rootTag("/work/a")).toBe(tag);
  expect(rootTag("/work/b")).not.toBe(tag);
  expect(tmuxNames("/work/a", "ralph")).toEqual(["pipeline-ralph", `pipeline-ralph-${tag}`]);
});

test("a tmux name back to its session: the tag is dropped unless a session carries the full name", () => {
  const tag = rootTag("/work/a");
  expect(sessionOfTmux("/work/a", "pipeline-ralph", () => false)).toBe("ralph");
  expect(sessionOfTmux("/work/a", `pipeline-ralph-${tag}`, () => false)).toBe("ralph");
  expect(sessionOfTmux("/work/a", `pipeline-ralph-${tag}`, (s) => s === `ralph-${tag}`)).toBe(`ralph-${tag}`);
  expect(sessionOfTmux("/work/a", "other", () => false)).toBeNull();
});
