import { expect, test } from "bun:test";
import { exact, exactPane, newSessionArgs } from "../../src/tmux.ts";

test("new-session is one argv: exact names, env via -e, command words after --, marked with the root", () => {
  const args = newSessionArgs({ name: "pipeline-x", cwd: "/r", argv: ["/bin/sessions", "run", "x", "--root", "/r"], env: { A: "1;$(id)" }, root: "/r", keep: false });
  expect(args).toEqual(["new-session", "-d", "-s", "pipeline-x", "-c", "/r", "-x", "200", "-y", "50", "-e", "A=1;$(id)", "--", "/bin/sessions", "run", "x", "--root", "/r", ";", "set-option", "-t", "=pipeline-x:", "@sessions_root", "/r"]);
});

test("--keep adds remain-on-exit", () => {
  const args = newSessionArgs({ name: "pipeline-x", cwd: "/r", argv: ["s"], env: {}, root: "/r", keep: true });
  expect(args.slice(-6)).toEqual([";", "set-option", "-t", "=pipeline-x:", "remain-on-exit", "on"]);
});

test("targets are exact", () => {
  expect(exact("pipeline-foo")).toBe("=pipeline-foo");
  expect(exactPane("pipeline-foo")).toBe("=pipeline-foo:");
});
