import { expect, test } from "bun:test";
import { splitWords } from "../../../src/lib/shellwords.ts";

test.each([
  ["bd ready --label=pipeline/x", ["bd", "ready", "--label=pipeline/x"]],
  [`a "b c" 'd e' f\\ g`, ["a", "b c", "d e", "f g"]],
  [`say "it's" 'say "hi"'`, ["say", "it's", 'say "hi"']],
  ["x;rm -rf / $(id) `id`", ["x;rm", "-rf", "/", "$(id)", "`id`"]],
  [`""`, [""]],
  ["  spaced   out  ", ["spaced", "out"]],
])("splitWords(%p)", (line, words) => {
  expect(splitWords(line)).toEqual(words);
});

test("unterminated quotes are refused", () => {
  expect(() => splitWords(`echo "oops`)).toThrow(/unterminated/);
  expect(() => splitWords("echo 'oops")).toThrow(/unterminated/);
});
