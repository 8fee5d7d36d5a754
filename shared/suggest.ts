// "Did you mean": the closest known name to a mistyped one, if it is close
// enough to be a typo (transposed or missing letters, a wrong case).
import { distance } from 'fastest-levenshtein';

export function suggest(typed: string, known: Iterable<string>): string | null {
  const lower = typed.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of known) {
    const d = distance(lower, name.toLowerCase());
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  // Up to a third of the word may differ (at least 1, at most 3 edits).
  const limit = Math.min(3, Math.max(1, Math.floor(typed.length / 3)));
  return best !== null && bestDistance <= limit ? best : null;
}
