// Taint by value: every plaintext that came out of an encrypted layer is
// registered here, and every string that leaves the process (status, events,
// status.json, logs, errors, CLI output) is masked on the way out: each
// occurrence of a secret becomes «secret». A string built from a secret with
// ${…} contains it, so it is masked too, without tracking where values flow.
//
// Values shorter than MIN_SUBSTRING_CHARS ("1", "on") are masked only where a
// whole string equals them: masking every "1" inside other text would make
// output unreadable, and such a value is no secret worth the name anyway
// (docs/secrets.md says so). Pure: no Node-only code.

export const MASK = '«secret»';
export const MIN_SUBSTRING_CHARS = 4;
/** Bounds the memory and the work per masked string; past it, the oldest values are forgotten first. */
export const MAX_SECRETS = 10_000;

export class SecretValues {
  private readonly whole = new Set<string>();
  private long: string[] = [];
  private pattern: RegExp | null = null;

  get size(): number {
    return this.whole.size;
  }

  add(values: Iterable<string>): void {
    let changed = false;
    const forgotten = new Set<string>();
    for (const v of values) {
      if (v === '') continue;
      if (this.whole.has(v)) {
        // Seen again: now the newest, the last to be forgotten.
        this.whole.delete(v);
        this.whole.add(v);
        continue;
      }
      if (this.whole.size >= MAX_SECRETS) {
        // A long-lived agent (many rotations) must not grow without bound nor stop working:
        // the value registered longest ago goes (the current revision's were just re-added).
        const oldest = this.whole.values().next().value as string;
        this.whole.delete(oldest);
        forgotten.add(oldest);
      }
      this.whole.add(v);
      if (v.length >= MIN_SUBSTRING_CHARS) this.long.push(v);
      changed = true;
    }
    if (forgotten.size > 0) this.long = this.long.filter((l) => !forgotten.has(l) || this.whole.has(l));
    if (changed && this.long.length > 0) {
      // Longest first, so a secret that contains another is masked whole.
      this.long.sort((a, b) => b.length - a.length);
      this.pattern = new RegExp(this.long.map(escapeRegExp).join('|'), 'g');
    }
  }

  /** True when `text` is a secret or contains one. */
  taints(text: string): boolean {
    if (this.whole.has(text)) return true;
    if (this.pattern === null) return false;
    this.pattern.lastIndex = 0;
    return this.pattern.test(text);
  }

  mask(text: string): string {
    if (this.whole.has(text)) return MASK;
    if (this.pattern === null) return text;
    return text.replace(this.pattern, MASK);
  }

  /** A copy of a JSON-like value with every string (values and keys) masked. */
  maskDeep<T>(value: T): T {
    return maskValue(value, this, 0) as T;
  }

  /** True when any string in the value is tainted. */
  taintsDeep(value: unknown): boolean {
    if (typeof value === 'string') return this.taints(value);
    if (Array.isArray(value)) return value.some((v) => this.taintsDeep(v));
    if (value !== null && typeof value === 'object') return Object.values(value).some((v) => this.taintsDeep(v));
    return false;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function maskValue(value: unknown, secrets: SecretValues, depth: number): unknown {
  if (secrets.size === 0) return value;
  if (typeof value === 'string') return secrets.mask(value);
  if (depth > 64 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const e = new Error(secrets.mask(value.message));
    e.name = value.name;
    e.stack = secrets.mask(value.stack ?? '');
    for (const k of ['code', 'retryable'] as const) if (k in value) (e as unknown as Record<string, unknown>)[k] = (value as unknown as Record<string, unknown>)[k];
    return e;
  }
  if (Array.isArray(value)) return value.map((v) => maskValue(v, secrets, depth + 1));
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[secrets.mask(k)] = maskValue(v, secrets, depth + 1);
  return out;
}

/**
 * The process's secrets: the agent registers what its loader decrypted and
 * every exit point masks with it. One per process because a process serves one
 * host; values are kept for the process's life (bounded), so a secret rotated
 * away is still masked where the host still holds the old one.
 */
export const processSecrets = new SecretValues();
