// "Did you mean …": the closest known names to a mistyped one.
import { distance } from 'fastest-levenshtein';

/** Up to `limit` candidates close enough to `name` to be a plausible typo, closest first. */
export function nearestNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const scored: { c: string; d: number }[] = [];
  const bound = Math.max(2, Math.ceil(name.length / 2));
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d <= bound || c.startsWith(name) || name.startsWith(c)) scored.push({ c, d });
  }
  scored.sort((a, b) => a.d - b.d || (a.c < b.c ? -1 : 1));
  return [...new Set(scored.map((s) => s.c))].slice(0, limit);
}

export function didYouMean(name: string, candidates: Iterable<string>): string {
  const near = nearestNames(name, candidates, 1);
  return near.length > 0 ? ` — did you mean "${near[0]}"?` : '';
}
