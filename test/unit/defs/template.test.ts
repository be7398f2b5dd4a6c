import { describe, expect, test } from "bun:test";
import { renderTemplate, scanTemplate, type TemplateValues } from "../../../src/defs/template.ts";

const values: TemplateValues = {
  CTX: "/run/ctx.json",
  STATUS: "/run/status.json",
  PROGRESS: "/run/progress.md",
  OUTPUT: "/run/output.md",
  ITERATION: "3",
  INDEX: "2",
  SESSION_NAME: "demo",
  CONTEXT: "be brief",
  INPUTS: "/a.md\n/b.md",
};

describe("scanTemplate", () => {
  test("finds unknown and legacy variables with their lines", () => {
    const text = "Read ${CTX}.\n${NOPE} and ${SESSION}\n\nwrite ${RESULT} ${OUTPUT_PATH} ${PROGRESS_FILE} ${INDEX}\n${ALSO_NOPE}";
    const { unknown, legacy } = scanTemplate(text);
    expect(unknown).toEqual([
      { name: "NOPE", line: 2, legacy: false },
      { name: "ALSO_NOPE", line: 5, legacy: false },
    ]);
    expect(legacy.map((l) => [l.name, l.line])).toEqual([
      ["SESSION", 2],
      ["RESULT", 4],
      ["OUTPUT_PATH", 4],
      ["PROGRESS_FILE", 4],
      ["INDEX", 4],
    ]);
  });

  test("$${X} is an escape, not a use; a bare $X is plain text", () => {
    expect(scanTemplate("cost: $${PRICE} and $HOME and ${STATUS}")).toEqual({ unknown: [], legacy: [] });
  });

  test("every modern variable is known", () => {
    expect(scanTemplate(Object.keys(values).map((k) => `\${${k}}`).join(" "))).toEqual({ unknown: [], legacy: [{ name: "INDEX", line: 1, legacy: true }] });
  });
});

describe("renderTemplate", () => {
  test("substitutes modern and legacy names", () => {
    expect(renderTemplate("${SESSION_NAME}/${SESSION} ${ITERATION}/${INDEX} ${STATUS}=${RESULT} ${OUTPUT}=${OUTPUT_PATH} ${PROGRESS}=${PROGRESS_FILE} [${CONTEXT}] ${CTX}", values)).toBe(
      "demo/demo 3/2 /run/status.json=/run/status.json /run/output.md=/run/output.md /run/progress.md=/run/progress.md [be brief] /run/ctx.json",
    );
  });

  test("$${X} renders as a literal ${X}; unknown names are left as written", () => {
    expect(renderTemplate("echo $${HOME} ${STATUS} ${UNKNOWN} $${STATUS}", values)).toBe("echo ${HOME} /run/status.json ${UNKNOWN} ${STATUS}");
  });

  test("values are inserted literally (no $-patterns, no recursion)", () => {
    expect(renderTemplate("${CONTEXT}", { ...values, CONTEXT: "$& ${STATUS} $1" })).toBe("$& ${STATUS} $1");
  });

  test("multi-line values keep their lines", () => {
    expect(renderTemplate("inputs:\n${INPUTS}\nend", values)).toBe("inputs:\n/a.md\n/b.md\nend");
  });
});
