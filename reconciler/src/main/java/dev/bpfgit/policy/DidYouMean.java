package dev.bpfgit.policy;

import java.util.Collection;
import java.util.Comparator;
import java.util.Optional;

/** Suggests the known word a misspelt one was probably meant to be. */
final class DidYouMean {
    private DidYouMean() {
    }

    /** The closest candidate within a couple of edits (fewer for short words), or case-insensitively equal. */
    static Optional<String> suggest(String word, Collection<String> candidates) {
        return candidates.stream()
                .filter(c -> c.equalsIgnoreCase(word) || distance(word, c) <= Math.min(2, (c.length() - 1) / 2))
                .min(Comparator.comparingInt((String c) -> c.equalsIgnoreCase(word) ? 0 : distance(word, c))
                        .thenComparing(Comparator.naturalOrder()));
    }

    /** Optimal string alignment distance: Levenshtein where swapping two adjacent letters costs one edit. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
