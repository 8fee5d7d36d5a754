// ${name} substitution: plain text replacement, never evaluation. `$${` is a
// literal `${` (so systemd's and the shell's own ${VAR} can be written), and
// a `$` not followed by `{` is left alone.
//
// Expansion is bounded: `b: ${a}${a}`, `c: ${b}${b}`… doubles at every step, so
// 40 such lines written by anyone with push access would otherwise build a
// value of 2^40 characters in the agent and the hub. A value may grow to
// maxValueChars; everything substituted for one host together to maxHostChars.
// Both are checked before the text is appended, so refusing costs at most one
// value's worth of memory.

/** 1 MiB of characters per substituted value (a variable or one string of a resource). */
export const maxValueChars = 1024 * 1024;
/** 16 MiB of characters over every substituted value of one host. */
export const maxHostChars = 16 * 1024 * 1024;

/** What one host's substitution may still produce; shared by its variables and resources. */
export class ExpansionBudget {
  remaining: number;
  /** For the caller: set once the host total was reported, so it is reported once. */
  reported = false;
  constructor(total = maxHostChars) {
    this.remaining = total;
  }
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function hasReference(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('${');
  if (Array.isArray(value)) return value.some(hasReference);
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasReference);
  return false;
}

export interface SubstitutionProblem {
  /** Path inside the substituted value. */
  path: (string | number)[];
  /** too-large: one value over maxValueChars; host-total: the host's budget is used up. */
  kind: 'unresolved' | 'malformed' | 'too-large' | 'host-total';
  /** The variable name (unresolved, too-large: the one whose insertion overflowed) or the offending text (malformed). */
  text: string;
}

/**
 * Replaces references in one string; unknown names are reported and left as
 * written. An expansion over a bound is reported and its result cut short, so
 * the caller must not use a value it received a too-large or host-total problem for.
 */
export function substituteString(
  input: string,
  lookup: (name: string) => string | undefined,
  onProblem: (kind: SubstitutionProblem['kind'], text: string) => void,
  budget: ExpansionBudget = new ExpansionBudget(),
): string {
  if (!input.includes('${')) return input;
  let out = '';
  let last = '';
  let i = 0;
  while (i < input.length) {
    const dollar = input.indexOf('$', i);
    if (dollar < 0) {
      out += input.slice(i);
      break;
    }
    out += input.slice(i, dollar);
    if (input.startsWith('$${', dollar)) {
      out += '${';
      i = dollar + 3;
      continue;
    }
    if (!input.startsWith('${', dollar)) {
      out += '$';
      i = dollar + 1;
      continue;
    }
    const close = input.indexOf('}', dollar + 2);
    const name = close < 0 ? '' : input.slice(dollar + 2, close);
    if (close < 0 || !namePattern.test(name)) {
      // Quote a short excerpt on one line, then carry on right after the `${`.
      const excerpt = input.slice(dollar, close < 0 ? dollar + 16 : Math.min(close + 1, dollar + 16)).split('\n')[0]!;
      onProblem('malformed', excerpt);
      out += '${';
      i = dollar + 2;
      continue;
    }
    const value = lookup(name);
    if (value === undefined) {
      onProblem('unresolved', name);
      out += input.slice(dollar, close + 1);
    } else if (out.length + value.length > maxValueChars) {
      onProblem('too-large', name);
      return out;
    } else if (out.length + value.length > budget.remaining) {
      onProblem('host-total', name);
      return out;
    } else {
      out += value;
      last = name;
    }
    i = close + 1;
  }
  // Literal text after the last reference (at most the input's length) can tip it over too.
  if (out.length > maxValueChars) {
    onProblem('too-large', last);
    return out;
  }
  budget.remaining -= out.length;
  return out;
}

/** Substitutes every string value (not map keys) of a plain YAML value. */
export function substitute(
  value: unknown,
  lookup: (name: string) => string | undefined,
  problems: SubstitutionProblem[],
  path: (string | number)[] = [],
  budget: ExpansionBudget = new ExpansionBudget(),
): unknown {
  if (typeof value === 'string') {
    return substituteString(value, lookup, (kind, text) => problems.push({ path, kind, text }), budget);
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, lookup, problems, [...path, i], budget));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, lookup, problems, [...path, k], budget);
    return out;
  }
  return value;
}

const mib = (chars: number) => `${chars / (1024 * 1024)} MiB (${chars.toLocaleString('en-US')} characters)`;

export function referenceHelp(kind: SubstitutionProblem['kind'], text: string): string {
  if (kind === 'too-large') {
    return `substituting \${${text}} makes the value longer than ${mib(maxValueChars)}; variables that repeat each other (b: \${a}\${a}) double at every step`;
  }
  if (kind === 'host-total') {
    return `substituting \${${text}} brings this host's substituted values over ${mib(maxHostChars)} in total`;
  }
  if (kind === 'malformed') {
    return `"${text}…" is not a variable reference (\${name}, with a name of letters, digits and _); write $\${ for a literal \${`;
  }
  return `unresolved variable \${${text}}: no layer of this host defines it in vars (built-in: host, place, tags); write $\${${text}} for a literal \${${text}}`;
}
