// Values read from a host are literal text, but the fleet repo substitutes
// variables in string values: `${x}` in a native layer, `$x`/`${x}` in a
// Compose file. Escaped here, so a unit's `${MAINPID}` or a password with a
// `$` reaches the host exactly as it was (docs/fleet-repo.md §3, docs/compose.md).

function deep(value: unknown, text: (s: string) => string): unknown {
  if (typeof value === 'string') return text(value);
  if (Array.isArray(value)) return value.map((v) => deep(v, text));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deep(v, text)]));
  return value;
}

/** Native layers: `${` is a variable, `$${` the literal. */
export function escapeNative<T>(value: T): T {
  return deep(value, (s) => s.replaceAll('${', () => '$${')) as T;
}

/** Compose files: every `$` starts an interpolation, `$$` is the literal. */
export function escapeCompose<T>(value: T): T {
  return deep(value, (s) => s.replaceAll('$', () => '$$')) as T;
}
