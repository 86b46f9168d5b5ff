package dev.bpfgit.policy;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.parser.Parser;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ArrayNode;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * One large YAML file read on several threads (issue 10: a 100,000-rule policy is one file, and its parse was
 * most of a cold {@code apply} and of the sidecar's one-rule edit). The file's largest block sequence (a
 * TrafficPolicy's {@code rules:}) is cut at item lines into runs of about equal length; each run, moved to
 * column 1, is read as a document of its own, on its own thread; the rest of the file, with the sequence
 * replaced by one item holding a marker, is read on the caller's; the runs' items then replace the marker.
 * <p>
 * Only the fast reader's subset is split ({@link FastYamlParser}: one-line scalars and flow collections, no
 * anchors, aliases, tags or block scalars), and only when every piece reads without an error: the marker
 * alone in a sequence, each run a sequence of exactly as many items as it has item lines. A line that only
 * looked like an item (inside a scalar or a flow collection over several lines) fails one of those checks.
 * Anything else is empty, and the file is read whole ({@link YamlReader#read}), which is also the reference
 * for every error, message and position: positions are read from the whole file when asked for, as always.
 */
final class SplitYaml {
    /**
     * Below this many characters (about 23,000 rules) the threads save less than they cost: at 10,000 rules
     * (461 KiB) the split was 1.15x the serial read, warm, on a loaded 2-core machine.
     */
    static final int MIN_CHARS = 1024 * 1024;
    /**
     * Above this many characters (about 180,000 rules) a file is read on one thread: the runs' copies and the
     * threads' garbage at once raise the peak. `validate` of one file of 500,000 rules (22.5 MiB) peaked at
     * 575 MiB RSS split against 421 MiB serial; of 100,000 rules at 181 against 163-169 MiB (bench/README.md,
     * "One large file on several cores"). The target is at 100k, and 1M rules must stay within the default heap.
     */
    static final int MAX_CHARS = 8 * 1024 * 1024;
    /** A run is at least this long. */
    static final int MIN_RUN = 64 * 1024;
    /** Runs, whatever the cores: each is a copy of its part of the file, held while it is read. */
    static final int MAX_RUNS = 8;

    private SplitYaml() {
    }

    /** The largest block sequence: item lines at {@code column}, from {@code start} to {@code end}. */
    record Sequence(int start, int end, int column, int[] items, int count) {
    }

    static Optional<YamlReader.Result> read(String file, String text, int threads, int minRun,
                                            LoadSettings settings, Supplier<List<YamlDocument>> again) {
        Sequence seq = largest(text);
        if (seq == null) {
            return Optional.empty();
        }
        int runs = (int) Math.min(Math.min(threads, MAX_RUNS), (seq.end() - seq.start()) / Math.max(1, minRun));
        int[] cuts = cuts(seq, runs);
        if (cuts.length < 3) {
            return Optional.empty();
        }
        String marker = marker(text);
        String skeleton = text.substring(0, seq.start()) + " ".repeat(seq.column()) + "- " + marker + "\n"
                + text.substring(seq.end());
        @SuppressWarnings("unchecked")
        Optional<ArrayNode>[] parts = new Optional[cuts.length - 1];
        List<Thread> threadsStarted = new ArrayList<>();
        // the other runs are read while the caller reads the first and the skeleton, which gives how deep the
        // sequence is: their depth limit assumes the deepest a split sequence may be (MAX_SPLIT_DEPTH)
        Optional<YamlReader.Result> whole;
        try {
            for (int i = 1; i < parts.length; i++) {
                int run = i;
                threadsStarted.add(Thread.ofPlatform().daemon().name("bpfgit-split-" + i).start(() ->
                        parts[run] = part(file, text, seq, cuts[run], cuts[run + 1])));
            }
            parts[0] = part(file, text, seq, cuts[0], cuts[1]);
            whole = skeleton(file, skeleton, marker, settings, again, parts, seq, text);
        } catch (OutOfMemoryError e) {
            return Optional.empty();   // no thread to be had (the process's limit): the file is read whole
        } finally {
            for (Thread t : threadsStarted) {
                join(t);
            }
        }
        if (whole.isEmpty()) {
            return whole;
        }
        for (Optional<ArrayNode> part : parts) {
            if (part == null || part.isEmpty()) {
                return Optional.empty();
            }
        }
        ArrayNode array = found(whole.get(), marker);
        array.removeAll();
        for (Optional<ArrayNode> part : parts) {
            array.addAll(part.get());
        }
        return whole;
    }

    /** Nesting a split sequence may have in its document: deeper ones (never a policy's) are read whole. */
    static final int MAX_SPLIT_DEPTH = 8;

    private static void join(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The file without the sequence's items but one, the marker, read as the whole file would be. Its
     * documents after the one holding the sequence start as many lines earlier as the items took, less one.
     */
    private static Optional<YamlReader.Result> skeleton(String file, String skeleton, String marker,
                                                        LoadSettings settings, Supplier<List<YamlDocument>> again,
                                                        Optional<ArrayNode>[] parts, Sequence seq, String text) {
        Optional<Parser> fast = FastYamlParser.lazy(file, skeleton);
        if (fast.isEmpty()) {
            return Optional.empty();
        }
        YamlReader.Result result;
        try {
            result = YamlReader.convert(file, settings, fast.get(), false, false, again, YamlReader.MAX_DEPTH);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
        if (!result.errors().isEmpty()) {
            return Optional.empty();
        }
        int holder = -1, depth = -1;
        for (int d = 0; d < result.documents().size(); d++) {
            int at = depthOf(result.documents().get(d).root(), marker, 0);
            if (at >= 0) {
                if (holder >= 0) {
                    return Optional.empty();
                }
                holder = d;
                depth = at;
            }
        }
        if (holder < 0 || depth > MAX_SPLIT_DEPTH || found(result, marker) == null) {
            return Optional.empty();
        }
        int lines = 0;
        for (int i = seq.start(); i < seq.end(); i++) {
            if (text.charAt(i) == '\n') {
                lines++;
            }
        }
        List<YamlDocument> documents = new ArrayList<>(result.documents());
        int shift = lines - 1;
        for (int d = holder + 1; d < documents.size() && shift != 0; d++) {
            YamlDocument doc = documents.get(d);
            Location s = doc.start();
            documents.set(d, new YamlDocument(doc.file(), doc.root(), doc.locations(),
                    new Location(s.file(), s.line() + shift, s.column()), doc.clean()));
        }
        return Optional.of(new YamlReader.Result(documents, result.errors(), result.stop()));
    }

    /** The depth of the array holding only the marker (the document's root is 0), or -1. */
    private static int depthOf(JsonNode node, String marker, int depth) {
        if (node == null) {
            return -1;
        }
        if (node instanceof ArrayNode a && a.size() == 1 && a.get(0).isString()
                && a.get(0).asString().equals(marker)) {
            return depth;
        }
        if (node.isContainer()) {
            for (JsonNode child : node) {
                int d = depthOf(child, marker, depth + 1);
                if (d >= 0) {
                    return d;
                }
            }
        }
        return -1;
    }

    private static ArrayNode found(YamlReader.Result result, String marker) {
        for (YamlDocument doc : result.documents()) {
            ArrayNode a = find(doc.root(), marker);
            if (a != null) {
                return a;
            }
        }
        return null;
    }

    private static ArrayNode find(JsonNode node, String marker) {
        if (node instanceof ArrayNode a && a.size() == 1 && a.get(0).isString()
                && a.get(0).asString().equals(marker)) {
            return a;
        }
        if (node != null && node.isContainer()) {
            for (JsonNode child : node) {
                ArrayNode a = find(child, marker);
                if (a != null) {
                    return a;
                }
            }
        }
        return null;
    }

    /**
     * Items {@code from} (an item line's offset) to {@code to}, moved left by the sequence's column: a
     * sequence of exactly as many items as lines starting one, or empty. Its depth limit is what remains of
     * the file's below the deepest sequence split.
     */
    static Optional<ArrayNode> part(String file, String text, Sequence seq, int from, int to) {
        try {
            String run = dedent(text, from, to, seq.column());
            Optional<Parser> fast = FastYamlParser.lazy(file, run);
            if (fast.isEmpty()) {
                return Optional.empty();
            }
            // settings of its own: nothing of snakeyaml's is shared between threads
            YamlReader.Result result = YamlReader.convert(file, YamlReader.settings(file), fast.get(), false, false, () -> {
                throw new IllegalStateException("a part's positions are the whole file's");
            }, YamlReader.MAX_DEPTH - MAX_SPLIT_DEPTH - 1);
            if (!result.errors().isEmpty() || result.documents().size() != 1
                    || !(result.documents().get(0).root() instanceof ArrayNode items)
                    || items.size() != itemLines(seq, from, to)) {
                return Optional.empty();
            }
            return Optional.of(items);
        } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
            return Optional.empty();
        }
    }

    private static int itemLines(Sequence seq, int from, int to) {
        int n = 0;
        for (int i = 0; i < seq.count(); i++) {
            if (seq.items()[i] >= from && seq.items()[i] < to) {
                n++;
            }
        }
        return n;
    }

    /** Each line of text[from, to) without its first {@code column} spaces (fewer on a shorter line). */
    static String dedent(String text, int from, int to, int column) {
        if (column == 0) {
            return text.substring(from, to);
        }
        StringBuilder out = new StringBuilder(to - from);
        int i = from;
        while (i < to) {
            int skip = 0;
            while (skip < column && i < to && text.charAt(i) == ' ') {
                i++;
                skip++;
            }
            int end = text.indexOf('\n', i);
            end = end < 0 || end >= to ? to : end + 1;
            out.append(text, i, end);
            i = end;
        }
        return out.toString();
    }

    /** A plain word that the text does not hold. */
    static String marker(String text) {
        for (long n = 0; ; n++) {
            String m = "bpfgit-split-" + Long.toHexString(0x5eed0000L + n);
            if (!text.contains(m)) {
                return m;
            }
        }
    }

    /** Offsets of item lines that start the runs, and the sequence's end: runs + 1 values, or fewer. */
    static int[] cuts(Sequence seq, int runs) {
        if (runs < 2 || seq.count() < runs) {
            return new int[0];
        }
        List<Integer> cuts = new ArrayList<>();
        cuts.add(seq.start());
        int item = 0;
        for (int r = 1; r < runs; r++) {
            long target = seq.start() + (long) (seq.end() - seq.start()) * r / runs;
            while (item < seq.count() && (seq.items()[item] < target || seq.items()[item] <= cuts.getLast())) {
                item++;
            }
            if (item >= seq.count()) {
                break;
            }
            cuts.add(seq.items()[item]);
        }
        cuts.add(seq.end());
        return cuts.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * The block sequence with the most characters that follows a line ending in {@code :} (a key whose value
     * is on the next lines): item lines ({@code - } at one column), lines indented more, blank lines and
     * comments, up to the first other line. What it finds is only a guess, checked by reading.
     */
    static Sequence largest(String text) {
        return largest(text, 0, text.length(), MAX_SPLIT_DEPTH);
    }

    /**
     * In text[from, to); a sequence of fewer items than runs (a rule with a long {@code prefixes:}) gives way
     * to the largest sequence inside it, {@code levels} deep at most.
     */
    private static Sequence largest(String text, int from, int to, int levels) {
        Sequence best = scan(text, from, to);
        if (best != null && best.count() < 2 * MAX_RUNS && levels > 0) {
            int firstEnd = text.indexOf('\n', best.start());
            Sequence inner = firstEnd < 0 || firstEnd + 1 >= best.end() ? null
                    : largest(text, firstEnd + 1, best.end(), levels - 1);
            if (inner != null && inner.count() > best.count()) {
                return inner;
            }
        }
        return best;
    }

    private static Sequence scan(String text, int from, int n) {
        Sequence best = null;
        boolean afterKey = false, inSeq = false;
        int keyIndent = 0, column = 0, start = 0, count = 0;
        int[] items = new int[1024];
        int pos = from;
        while (pos < n) {
            int end = text.indexOf('\n', pos);
            int next = end < 0 || end >= n ? n : end + 1;
            end = end < 0 || end >= n ? n : end;
            int indent = 0;
            while (pos + indent < end && text.charAt(pos + indent) == ' ') {
                indent++;
            }
            int first = pos + indent;
            boolean blank = first == end, comment = !blank && text.charAt(first) == '#';
            boolean item = !blank && text.charAt(first) == '-' && (first + 1 == end || text.charAt(first + 1) == ' ');
            if (inSeq) {
                if (blank || comment || indent > column) {
                    pos = next;
                    continue;
                }
                if (indent == column && item) {
                    if (count == items.length) {
                        items = java.util.Arrays.copyOf(items, count * 2);
                    }
                    items[count++] = pos;
                    pos = next;
                    continue;
                }
                if (best == null || pos - start > best.end() - best.start()) {
                    best = new Sequence(start, pos, column, java.util.Arrays.copyOf(items, count), count);
                }
                inSeq = false;
            }
            if (blank || comment) {
                pos = next;
                continue;
            }
            if (afterKey && item && indent >= keyIndent) {
                inSeq = true;
                column = indent;
                start = pos;
                items[0] = pos;
                count = 1;
                afterKey = false;
                pos = next;
                continue;
            }
            afterKey = endsWithColon(text, first, end);
            keyIndent = indent;
            pos = next;
        }
        if (inSeq && (best == null || n - start > best.end() - best.start())) {
            best = new Sequence(start, n, column, java.util.Arrays.copyOf(items, count), count);
        }
        return best;
    }

    /** The line ends in ':' before any comment (a " #" is taken as one: a guess, checked by reading). */
    private static boolean endsWithColon(String text, int from, int end) {
        int e = end;
        for (int i = from; i + 1 < end; i++) {
            if (text.charAt(i) == ' ' && text.charAt(i + 1) == '#') {
                e = i;
                break;
            }
        }
        while (e > from && text.charAt(e - 1) == ' ') {
            e--;
        }
        return e > from && text.charAt(e - 1) == ':';
    }
}
