// Command-line parsing for every gitfleet command (here in repo/, the lowest
// layer that agent/, hub/ and cli/ may all import and that may use Node):
// node:util parseArgs in
// strict mode, with its errors turned into one line that names the option
// and, for a typo, the option meant. A UsageError ends the command with exit
// code 2 (cli/main.ts); nothing a user mistypes reaches the "internal error"
// path or prints a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { suggest } from '../../shared/suggest.ts';

/** Wrong command-line usage: printed as `gitfleet <command>: <message>`, exit 2. */
export class UsageError extends Error {
  readonly command: string;
  constructor(command: string, message: string) {
    super(message);
    this.name = 'UsageError';
    this.command = command;
  }
}

export function isUsageError(value: unknown): value is UsageError {
  return value instanceof UsageError;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses argv for `command`. `positionals` is the most positional arguments
 * allowed (0 by default). Every parser error becomes a UsageError.
 */
export function parseCommandArgs<T extends Options>(command: string, argv: string[], options: T, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals > 0 });
  } catch (error) {
    throw new UsageError(command, explainParseError(error, command, options));
  }
  if (parsed.positionals.length > positionals) {
    const extra = parsed.positionals.slice(positionals).join(' ');
    throw new UsageError(command, positionals === 0 ? `takes no arguments, got "${extra}"` : `unexpected argument "${extra}" (at most ${positionals})`);
  }
  return parsed;
}

function optionNames(options: Options): string[] {
  return Object.keys(options).map((name) => `--${name}`);
}

function explainParseError(error: unknown, command: string, options: Options): string {
  const code = error !== null && typeof error === 'object' && 'code' in error ? String(error.code) : '';
  const message = error instanceof Error ? error.message : String(error);
  const help = `see gitfleet ${command} --help`;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const option = /'([^']+)'/.exec(message)?.[1] ?? '?';
    const name = option.split('=')[0]!;
    const meant = suggest(name, optionNames(options));
    return `unknown option ${name}${meant ? ` (did you mean ${meant}?)` : ''}; ${help}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? 'an option';
    if (/argument missing/.test(message)) return `${option} needs a value; ${help}`;
    if (/does not take an argument/.test(message)) return `${option} takes no value; ${help}`;
    if (/ambiguous/.test(message)) return `${option} needs a value (a value starting with "-" is written ${option}=VALUE); ${help}`;
    return `${option}: ${message.split('\n')[0]}; ${help}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(message)?.[1] ?? '';
    return `takes no arguments, got "${arg}"; ${help}`;
  }
  return `${message.split('\n')[0]}; ${help}`;
}
