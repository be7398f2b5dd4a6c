/**
 * The built-in library, embedded in the binary as text. Every file under pipelines/ must be listed
 * here (test/unit/pipelines.test.ts checks it): `bun build --compile` bundles only what is imported.
 */
import demoPrompt from "./stages/demo/prompt.md" with { type: "text" };
import demoStage from "./stages/demo/stage.yaml" with { type: "text" };
import ralphPrompt from "./stages/ralph/prompt.md" with { type: "text" };
import ralphStage from "./stages/ralph/stage.yaml" with { type: "text" };
import improvePlanPrompt from "./stages/improve-plan/prompt.md" with { type: "text" };
import improvePlanStage from "./stages/improve-plan/stage.yaml" with { type: "text" };
import refineTasksPrompt from "./stages/refine-tasks/prompt.md" with { type: "text" };
import refineTasksStage from "./stages/refine-tasks/stage.yaml" with { type: "text" };
import elegancePrompt from "./stages/elegance/prompt.md" with { type: "text" };
import eleganceStage from "./stages/elegance/stage.yaml" with { type: "text" };
import bugDiscoveryPrompt from "./stages/bug-discovery/prompt.md" with { type: "text" };
import bugDiscoveryStage from "./stages/bug-discovery/stage.yaml" with { type: "text" };
import bugTriagePrompt from "./stages/bug-triage/prompt.md" with { type: "text" };
import bugTriageStage from "./stages/bug-triage/stage.yaml" with { type: "text" };
import ideaWizardPrompt from "./stages/idea-wizard/prompt.md" with { type: "text" };
import ideaWizardStage from "./stages/idea-wizard/stage.yaml" with { type: "text" };
import codeReviewPrompt from "./stages/code-review/prompt.md" with { type: "text" };
import codeReviewStage from "./stages/code-review/stage.yaml" with { type: "text" };
import synthesisPrompt from "./stages/synthesis/prompt.md" with { type: "text" };
import synthesisStage from "./stages/synthesis/stage.yaml" with { type: "text" };
import proposePrompt from "./stages/propose/prompt.md" with { type: "text" };
import proposeStage from "./stages/propose/stage.yaml" with { type: "text" };
import critiquePrompt from "./stages/critique/prompt.md" with { type: "text" };
import critiqueStage from "./stages/critique/stage.yaml" with { type: "text" };
import respondPrompt from "./stages/respond/prompt.md" with { type: "text" };
import respondStage from "./stages/respond/stage.yaml" with { type: "text" };
import verdictPrompt from "./stages/verdict/prompt.md" with { type: "text" };
import verdictStage from "./stages/verdict/stage.yaml" with { type: "text" };
import refineYaml from "./refine.yaml" with { type: "text" };
import fullRefineYaml from "./full-refine.yaml" with { type: "text" };
import bugHuntYaml from "./bug-hunt.yaml" with { type: "text" };
import dualReviewYaml from "./dual-review.yaml" with { type: "text" };
import debateYaml from "./debate.yaml" with { type: "text" };

export const library: Record<string, string> = {
  "stages/demo/stage.yaml": demoStage,
  "stages/demo/prompt.md": demoPrompt,
  "stages/ralph/stage.yaml": ralphStage,
  "stages/ralph/prompt.md": ralphPrompt,
  "stages/improve-plan/stage.yaml": improvePlanStage,
  "stages/improve-plan/prompt.md": improvePlanPrompt,
  "stages/refine-tasks/stage.yaml": refineTasksStage,
  "stages/refine-tasks/prompt.md": refineTasksPrompt,
  "stages/elegance/stage.yaml": eleganceStage,
  "stages/elegance/prompt.md": elegancePrompt,
  "stages/bug-discovery/stage.yaml": bugDiscoveryStage,
  "stages/bug-discovery/prompt.md": bugDiscoveryPrompt,
  "stages/bug-triage/stage.yaml": bugTriageStage,
  "stages/bug-triage/prompt.md": bugTriagePrompt,
  "stages/idea-wizard/stage.yaml": ideaWizardStage,
  "stages/idea-wizard/prompt.md": ideaWizardPrompt,
  "stages/code-review/stage.yaml": codeReviewStage,
  "stages/code-review/prompt.md": codeReviewPrompt,
  "stages/synthesis/stage.yaml": synthesisStage,
  "stages/synthesis/prompt.md": synthesisPrompt,
  "stages/propose/stage.yaml": proposeStage,
  "stages/propose/prompt.md": proposePrompt,
  "stages/critique/stage.yaml": critiqueStage,
  "stages/critique/prompt.md": critiquePrompt,
  "stages/respond/stage.yaml": respondStage,
  "stages/respond/prompt.md": respondPrompt,
  "stages/verdict/stage.yaml": verdictStage,
  "stages/verdict/prompt.md": verdictPrompt,
  "refine.yaml": refineYaml,
  "full-refine.yaml": fullRefineYaml,
  "bug-hunt.yaml": bugHuntYaml,
  "dual-review.yaml": dualReviewYaml,
  "debate.yaml": debateYaml,
};
