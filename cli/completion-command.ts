// `gitfleet completion bash|zsh|fish`: a shell completion script for the
// commands (and their subcommands), printed for the user to source or install.
import { parseCommandArgs, UsageError } from '../repo/cli/args.ts';

export const usage = `usage: gitfleet completion bash|zsh|fish

Prints a completion script. Install it with, for example:
  gitfleet completion bash > /etc/bash_completion.d/gitfleet
  gitfleet completion zsh > "\${fpath[1]}/_gitfleet"
  gitfleet completion fish > ~/.config/fish/completions/gitfleet.fish`;

const subcommands: Record<string, string[]> = { token: ['create', 'list', 'revoke'], host: ['reset-credential'], completion: ['bash', 'zsh', 'fish'] };

function bash(names: string[]): string {
  const subs = Object.entries(subcommands)
    .map(([c, s]) => `    ${c}) COMPREPLY=($(compgen -W "${s.join(' ')}" -- "$cur")); return;;`)
    .join('\n');
  return `# bash completion for gitfleet
_gitfleet() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${names.join(' ')}" -- "$cur")); return
  fi
  if [ "$COMP_CWORD" -eq 2 ]; then
    case "\${COMP_WORDS[1]}" in
${subs}
    esac
  fi
  COMPREPLY=($(compgen -f -- "$cur"))
}
complete -o default -F _gitfleet gitfleet
`;
}

function zsh(names: string[], summaries: Record<string, string>): string {
  const described = names.map((n) => `'${n}:${(summaries[n] ?? '').replace(/['\\:]/g, ' ')}'`).join(' ');
  const subs = Object.entries(subcommands).map(([c, s]) => `    ${c}) _values 'action' ${s.join(' ')} ;;`).join('\n');
  return `#compdef gitfleet
_gitfleet() {
  if (( CURRENT == 2 )); then
    _describe 'command' "(${described})"
    return
  fi
  if (( CURRENT == 3 )); then
    case $words[2] in
${subs}
    *) _files ;;
    esac
    return
  fi
  _files
}
compdef _gitfleet gitfleet
`;
}

function fish(names: string[], summaries: Record<string, string>): string {
  const lines = names.map((n) => `complete -c gitfleet -n __fish_use_subcommand -a ${n} -d '${(summaries[n] ?? '').replace(/['\\]/g, ' ')}'`);
  for (const [c, s] of Object.entries(subcommands)) lines.push(`complete -c gitfleet -n '__fish_seen_subcommand_from ${c}' -a '${s.join(' ')}'`);
  return `# fish completion for gitfleet\n${lines.join('\n')}\n`;
}

export function run(argv: string[], summaries: Record<string, string>): Promise<number> {
  const { values, positionals } = parseCommandArgs('completion', argv, { help: { type: 'boolean', short: 'h' } }, 1);
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return Promise.resolve(0);
  }
  const names = [...Object.keys(summaries), 'help'];
  const shell = positionals[0];
  const script = shell === 'bash' ? bash(names) : shell === 'zsh' ? zsh(names, summaries) : shell === 'fish' ? fish(names, summaries) : null;
  if (script === null) throw new UsageError('completion', shell === undefined ? 'name the shell: bash, zsh or fish' : `unknown shell "${shell}": bash, zsh or fish`);
  process.stdout.write(script);
  return Promise.resolve(0);
}
