// The host-id glob of a scoped enrollment token: `*` matches any run of
// characters, `?` exactly one, everything else itself (case-sensitive, like
// host ids). Pure, so the rules are unit-tested.

const PATTERN = /^[A-Za-z0-9._*?-]{1,253}$/;

/** Why a pattern is not allowed, or null. */
export function hostPatternProblem(pattern: string): string | null {
  return PATTERN.test(pattern) ? null : 'a host-id glob: letters, digits, ".", "_", "-", "*" and "?", at most 253 characters';
}

export function hostPatternRegExp(pattern: string): RegExp {
  const body = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.\-]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`);
}

export function hostMatches(pattern: string, host: string): boolean {
  return hostPatternRegExp(pattern).test(host);
}
