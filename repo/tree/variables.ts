// ${name} substitution: plain text replacement, never evaluation. `$${` is a
// literal `${` (so systemd's and the shell's own ${VAR} can be written), and
// a `$` not followed by `{` is left alone.

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
  kind: 'unresolved' | 'malformed';
  /** The variable name (unresolved) or the offending text (malformed). */
  text: string;
}

/** Replaces references in one string; unknown names are reported and left as written. */
export function substituteString(input: string, lookup: (name: string) => string | undefined, onProblem: (kind: SubstitutionProblem['kind'], text: string) => void): string {
  if (!input.includes('${')) return input;
  let out = '';
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
    } else {
      out += value;
    }
    i = close + 1;
  }
  return out;
}

/** Substitutes every string value (not map keys) of a plain YAML value. */
export function substitute(value: unknown, lookup: (name: string) => string | undefined, problems: SubstitutionProblem[], path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    return substituteString(value, lookup, (kind, text) => problems.push({ path, kind, text }));
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, lookup, problems, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, lookup, problems, [...path, k]);
    return out;
  }
  return value;
}

export function referenceHelp(kind: SubstitutionProblem['kind'], text: string): string {
  if (kind === 'malformed') {
    return `"${text}…" is not a variable reference (\${name}, with a name of letters, digits and _); write $\${ for a literal \${`;
  }
  return `unresolved variable \${${text}}: no layer of this host defines it in vars (built-in: host, place, tags); write $\${${text}} for a literal \${${text}}`;
}
