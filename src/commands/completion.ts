import { defineCommand } from "citty";
import { usage } from "../lib/errors.ts";
import { out } from "../lib/output.ts";
import { visibleCommands } from "./index.ts";

/**
 * Shell completion: verbs, flags, session names and targets. The script asks the binary itself
 * (`sessions _complete …`), so names stay current and nothing is generated at install time.
 * Words come from file and directory names, so the scripts never let the shell expand them:
 * no `compgen -W` (it expands `$(…)` in its word list), no unquoted `$(…)` (it globs); each line
 * is read as is, matched as a literal prefix, and quoted when inserted.
 */
const bash = (verbs: string) => `# sessions completion for bash: eval "$(sessions completion bash)" in ~/.bashrc
_sessions() {
  local cur=\${COMP_WORDS[COMP_CWORD]} verb=\${COMP_WORDS[1]} w
  local -a words=()
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    words=(${verbs})
  elif [[ $cur == -* ]]; then
    while IFS= read -r w; do words+=("$w"); done < <("\${COMP_WORDS[0]}" _complete flags "$verb" 2>/dev/null)
  elif [ "$COMP_CWORD" -eq 2 ]; then
    while IFS= read -r w; do words+=("$w"); done < <("\${COMP_WORDS[0]}" _complete args "$verb" 2>/dev/null)
  fi
  for w in "\${words[@]}"; do
    [[ $w == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$w")")
  done
}
complete -F _sessions sessions
`;

const zsh = (verbs: string) => `# sessions completion for zsh: eval "$(sessions completion zsh)" in ~/.zshrc
_sessions() {
  local verb=\${words[2]}
  if (( CURRENT == 2 )); then
    compadd -- ${verbs}
  elif [[ \${words[CURRENT]} == -* ]]; then
    compadd -- \${(f)"$(\${words[1]} _complete flags "$verb" 2>/dev/null)"}
  elif (( CURRENT == 3 )); then
    compadd -- \${(f)"$(\${words[1]} _complete args "$verb" 2>/dev/null)"}
  fi
}
compdef _sessions sessions
`;

export default defineCommand({
  meta: { name: "completion", description: "Print the shell completion script (bash or zsh)" },
  args: { shell: { type: "positional", required: true, description: "bash | zsh" } },
  run({ args }) {
    const verbs = visibleCommands().join(" ");
    if (args.shell === "bash") out(bash(verbs));
    else if (args.shell === "zsh") out(zsh(verbs));
    else throw usage(`no completion for ${JSON.stringify(args.shell)}`, { hint: "use bash or zsh" });
  },
});
