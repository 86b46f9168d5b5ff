package dev.bpfgit.policy;

import java.util.ArrayList;
import java.util.List;

/**
 * A host-name glob ({@code edge-*}, {@code db-[0-9]?}, {@code {web,api}-*}), the syntax of the JDK's
 * {@code glob:} PathMatcher for names without '/', matched in time proportional to the name's length times
 * the glob's. The JDK turns each {@code *} into a backtracking {@code .*}: four of them against a 253-character
 * host name took seconds, thirty would take years, and the globs come from policy files.
 */
final class Glob {
    /** Alternatives after expanding {@code {a,b}} groups: {@code {a,b}{c,d}} is 4. */
    static final int MAX_ALTERNATIVES = 256;

    private sealed interface Token {
    }

    private record Literal(char c) implements Token {
    }

    private record AnyOne() implements Token {
    }

    private record AnyRun() implements Token {
    }

    private record CharClass(boolean negated, String ranges) implements Token {
        boolean has(char c) {
            boolean in = false;
            for (int i = 0; i < ranges.length(); i += 2) {
                in |= c >= ranges.charAt(i) && c <= ranges.charAt(i + 1);
            }
            return in != negated;
        }
    }

    private final List<List<Token>> alternatives;

    private Glob(List<List<Token>> alternatives) {
        this.alternatives = alternatives;
    }

    /** @throws IllegalArgumentException saying what is wrong, e.g. {@code missing '}'} */
    static Glob compile(String glob) {
        List<List<Token>> alternatives = new ArrayList<>();
        alternatives.add(new ArrayList<>());
        int i = 0;
        while (i < glob.length()) {
            if (glob.charAt(i) == '{') {
                int close = glob.indexOf('}', i);
                if (close < 0) {
                    throw new IllegalArgumentException("missing '}'");
                }
                String group = glob.substring(i + 1, close);
                if (group.indexOf('{') >= 0) {
                    throw new IllegalArgumentException("cannot nest groups");
                }
                List<List<Token>> choices = new ArrayList<>();
                for (String choice : group.split(",", -1)) {
                    choices.add(tokens(choice));
                }
                if ((long) alternatives.size() * choices.size() > MAX_ALTERNATIVES) {
                    throw new IllegalArgumentException("more than " + MAX_ALTERNATIVES + " alternatives");
                }
                List<List<Token>> product = new ArrayList<>();
                for (List<Token> a : alternatives) {
                    for (List<Token> c : choices) {
                        List<Token> both = new ArrayList<>(a);
                        both.addAll(c);
                        product.add(both);
                    }
                }
                alternatives = product;
                i = close + 1;
            } else {
                int next = glob.indexOf('{', i);
                int end = next < 0 ? glob.length() : next;
                List<Token> run = tokens(glob.substring(i, end));
                alternatives.forEach(a -> a.addAll(run));
                i = end;
            }
        }
        return new Glob(alternatives.stream().map(List::copyOf).toList());
    }

    private static List<Token> tokens(String s) {
        List<Token> out = new ArrayList<>();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\\' -> {
                    if (++i == s.length()) {
                        throw new IllegalArgumentException("no character to escape");
                    }
                    out.add(new Literal(s.charAt(i)));
                }
                case '*' -> {
                    if (out.isEmpty() || !(out.getLast() instanceof AnyRun)) {
                        out.add(new AnyRun());
                    }
                }
                case '?' -> out.add(new AnyOne());
                case '}' -> throw new IllegalArgumentException("'}' without '{'");
                case '[' -> {
                    int close = s.indexOf(']', i + 2);
                    if (close < 0) {
                        throw new IllegalArgumentException("missing ']'");
                    }
                    String body = s.substring(i + 1, close);
                    boolean negated = body.startsWith("!") || body.startsWith("^");
                    out.add(new CharClass(negated, ranges(negated ? body.substring(1) : body)));
                    i = close;
                }
                default -> out.add(new Literal(c));
            }
        }
        return out;
    }

    /** "a-z0" as pairs "az00". */
    private static String ranges(String body) {
        StringBuilder pairs = new StringBuilder();
        for (int i = 0; i < body.length(); i++) {
            char from = body.charAt(i);
            if (i + 2 < body.length() && body.charAt(i + 1) == '-') {
                char to = body.charAt(i + 2);
                if (to < from) {
                    throw new IllegalArgumentException("invalid range " + from + "-" + to);
                }
                pairs.append(from).append(to);
                i += 2;
            } else {
                pairs.append(from).append(from);
            }
        }
        return pairs.toString();
    }

    boolean matches(String name) {
        for (List<Token> tokens : alternatives) {
            if (matches(tokens, name)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Every token but {@code *} takes one character, so on a mismatch only the last {@code *} needs to take
     * one more: each character is revisited at most once per token.
     */
    private static boolean matches(List<Token> tokens, String name) {
        int t = 0, n = 0, starT = -1, starN = -1;
        while (n < name.length()) {
            if (t < tokens.size() && tokens.get(t) instanceof AnyRun) {
                starT = t++;
                starN = n;
            } else if (t < tokens.size() && one(tokens.get(t), name.charAt(n))) {
                t++;
                n++;
            } else if (starT >= 0) {
                t = starT + 1;
                n = ++starN;
            } else {
                return false;
            }
        }
        while (t < tokens.size() && tokens.get(t) instanceof AnyRun) {
            t++;
        }
        return t == tokens.size();
    }

    private static boolean one(Token token, char c) {
        return switch (token) {
            case Literal l -> l.c() == c;
            case AnyOne _ -> true;
            case CharClass k -> k.has(c);
            case AnyRun _ -> false;
        };
    }
}
