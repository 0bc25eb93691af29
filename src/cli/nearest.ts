import leven from 'leven';

/**
 * The nearest of some words to a mistyped one, for "did you mean" hints, by edit distance (Levenshtein:
 * an inserted, deleted or replaced letter counts one edit).
 */
export function nearest(word: string, candidates: readonly string[]): string | null {
  // Near enough to be a slip of the keyboard: one edit in a short word, at most two in a longer one (two
  // neighbours swapped are two edits).
  const limit = Math.min(2, Math.max(1, Math.floor(word.length / 3)));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = leven(word, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
