// Compose interpolation (compose-spec "Interpolation"): `${VAR}`, `$VAR`,
// `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
// `${VAR:+alt}`, `${VAR+alt}` and `$$` for a literal `$`. Applied to values,
// never to keys, as Compose does. One difference, on purpose: a variable that
// is not set and has no default is an error here (Compose warns and inserts
// an empty string), so a typo never reaches a host as an empty value.
// Plain text replacement: nothing is evaluated, and an inserted value is not
// interpolated again. Bounded: one value may grow to maxValueChars.
import { ExpansionBudget, maxValueChars } from '../tree/variables.ts';

export interface InterpolationProblem {
  path: (string | number)[];
  kind: 'unresolved' | 'required' | 'malformed' | 'too-large';
  message: string;
}

const nameStart = /[A-Za-z_]/;
const nameChar = /[A-Za-z0-9_]/;

/** The index of the `}` closing the `${` whose body starts at `from`, counting nested `${`; -1 if none. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let i = from; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '$') {
      i++;
      continue;
    }
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

/** Interpolates one string; problems go to `onProblem` and the result is then not to be used. */
export function interpolateString(
  input: string,
  lookup: (name: string) => string | undefined,
  onProblem: (kind: InterpolationProblem['kind'], message: string) => void,
  budget: ExpansionBudget = new ExpansionBudget(),
): string {
  if (!input.includes('$')) return input;
  let out = '';
  let i = 0;
  const append = (s: string): boolean => {
    if (out.length + s.length > maxValueChars) {
      onProblem('too-large', `the value grows over ${maxValueChars} characters when interpolated`);
      return false;
    }
    // One budget per host over every interpolated value (as for ${var} in native files).
    if (s.length > budget.remaining) {
      onProblem('too-large', 'the values interpolated for this host grow over the per-host limit (16 MiB)');
      return false;
    }
    budget.remaining -= s.length;
    out += s;
    return true;
  };
  while (i < input.length) {
    const c = input[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next !== undefined && nameStart.test(next)) {
      let j = i + 1;
      while (j < input.length && nameChar.test(input[j]!)) j++;
      const name = input.slice(i + 1, j);
      const value = lookup(name);
      if (value === undefined) onProblem('unresolved', `$${name} is not set (no var, fact or .env entry of that name)`);
      else if (!append(value)) return out;
      i = j;
      continue;
    }
    if (next !== '{') {
      // A lone `$` (end of string, `$1`, `$ `) is invalid in Compose too.
      onProblem('malformed', `a "$" that starts no variable at "${input.slice(i, i + 8)}" (write $$ for a literal $)`);
      return out;
    }
    const end = closingBrace(input, i + 2);
    if (end < 0) {
      onProblem('malformed', `"\${" without a closing "}" in "${input.slice(i, i + 24)}"`);
      return out;
    }
    const body = input.slice(i + 2, end);
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
    if (!m) {
      onProblem('malformed', `"\${${body}}" is not a variable reference (a name of letters, digits and _, then optionally :-, -, :?, ?, :+ or +)`);
      return out;
    }
    const [, name, op, arg = ''] = m as unknown as [string, string, string | undefined, string | undefined];
    const value = lookup(name);
    const unsetOrEmpty = value === undefined || value === '';
    let replacement: string | undefined;
    if (op === undefined) {
      if (value === undefined) onProblem('unresolved', `\${${name}} is not set (no var, fact or .env entry of that name)`);
      replacement = value;
    } else if (op === ':-' || op === '-') {
      const useDefault = op === ':-' ? unsetOrEmpty : value === undefined;
      replacement = useDefault ? interpolateString(arg, lookup, onProblem, budget) : value;
    } else if (op === ':?' || op === '?') {
      const missing = op === ':?' ? unsetOrEmpty : value === undefined;
      if (missing) onProblem('required', `\${${name}} is required: ${interpolateString(arg, lookup, () => {}) || `${name} is not set`}`);
      replacement = value;
    } else {
      const useAlt = op === ':+' ? !unsetOrEmpty : value !== undefined;
      replacement = useAlt ? interpolateString(arg, lookup, onProblem, budget) : '';
    }
    if (replacement !== undefined && !append(replacement)) return out;
    i = end + 1;
  }
  return out;
}

/** Interpolates every string value (not keys) of a parsed Compose document. */
export function interpolate(
  value: unknown,
  lookup: (name: string) => string | undefined,
  problems: InterpolationProblem[],
  path: (string | number)[] = [],
  budget: ExpansionBudget = new ExpansionBudget(),
): unknown {
  if (typeof value === 'string') {
    return interpolateString(value, lookup, (kind, message) => problems.push({ path, kind, message }), budget);
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, lookup, problems, [...path, i], budget));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      // x-* extensions are ignored, so they are not interpolated either (anchors often live there).
      if (path.length <= 2 && k.startsWith('x-')) continue;
      out[k] = interpolate(v, lookup, problems, [...path, k], budget);
    }
    return out;
  }
  return value;
}
