import { expect, test } from "bun:test";
import { notifierArgv } from "../../../src/engine/notify.ts";

const found = (bin: string) => `/usr/bin/${bin}`;

test("macOS: the text is an AppleScript string literal, quotes and backslashes escaped", () => {
  expect(notifierArgv('s: x "done"', 'said "stop" \\ then\nleft', "darwin", found)).toEqual([
    "/usr/bin/osascript",
    "-e",
    'display notification "said \\"stop\\" \\\\ then left" with title "s: x \\"done\\""',
  ]);
});

test("elsewhere: notify-send with the title and body as separate arguments", () => {
  expect(notifierArgv("t", "$(id); b", "linux", found)).toEqual(["/usr/bin/notify-send", "--app-name=sessions", "t", "$(id); b"]);
});

test("no notifier installed: nothing to run", () => {
  expect(notifierArgv("t", "b", "linux", () => null)).toBeNull();
  expect(notifierArgv("t", "b", "darwin", () => null)).toBeNull();
});
