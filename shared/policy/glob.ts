// Globs of the host policy: `*` matches any run of characters (including `/`),
// `?` one character, everything else itself. Kept this small on purpose: a
// policy is read by people deciding what a commit may do, and a repo policy is
// checked to be a narrowing of the host's by comparing globs (containment),
// which stays decidable for this language.

type Token = { kind: 'star' } | { kind: 'one' } | { kind: 'char'; ch: string };

function tokens(glob: string): Token[] {
  const out: Token[] = [];
  for (const ch of glob) {
    if (ch === '*') {
      // `**` is the same language as `*`: keep one.
      if (out.at(-1)?.kind !== 'star') out.push({ kind: 'star' });
    } else if (ch === '?') out.push({ kind: 'one' });
    else out.push({ kind: 'char', ch });
  }
  return out;
}

const compiled = new Map<string, { prefix: string; re: RegExp }>();

/** Whether `text` matches `glob` (the whole text). */
export function globMatch(glob: string, text: string): boolean {
  let c = compiled.get(glob);
  if (!c) {
    const body = tokens(glob)
      .map((t) => (t.kind === 'star' ? '.*' : t.kind === 'one' ? '.' : t.ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('');
    const wild = glob.search(/[*?]/);
    c = { prefix: wild < 0 ? glob : glob.slice(0, wild), re: new RegExp(`^${body}$`, 's') };
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(glob, c);
  }
  // The literal text before the first wildcard settles most non-matches without the regex.
  return text.startsWith(c.prefix) && c.re.test(text);
}

/**
 * Whether every text `inner` matches is also matched by `outer` (inner ⊆ outer).
 * Sound: a true answer is always right. Complete for the ways people narrow a
 * glob (replacing a `*` or `?` by text, appending text after a `*`, a literal);
 * some exotic true containments answer false, which errs on refusing a repo policy.
 */
export function globCovers(outer: string, inner: string): boolean {
  const q = tokens(outer);
  const p = tokens(inner);
  // memo[i][j]: q[i..] covers p[j..]
  const memo = new Map<number, boolean>();
  const covers = (i: number, j: number): boolean => {
    const key = i * (p.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === q.length) result = j === p.length;
    else {
      const t = q[i]!;
      if (t.kind === 'star') result = covers(i + 1, j) || (j < p.length && covers(i, j + 1));
      else if (j === p.length) result = false;
      else {
        const u = p[j]!;
        if (t.kind === 'one') result = u.kind !== 'star' && covers(i + 1, j + 1);
        else result = u.kind === 'char' && u.ch === t.ch && covers(i + 1, j + 1);
      }
    }
    memo.set(key, result);
    return result;
  };
  return covers(0, 0);
}
