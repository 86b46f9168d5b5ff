package dev.bpfgit.policy;

import dev.bpfgit.source.PolicyFiles;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.parser.Parser;
import org.snakeyaml.engine.v2.parser.ParserImpl;
import org.snakeyaml.engine.v2.scanner.StreamReader;
import org.snakeyaml.engine.v2.schema.CoreSchema;

import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Splits a policy file into its YAML documents. Composing (not loading) keeps every node's position; the
 * YAML 1.2 core schema makes {@code 0x10} an integer and {@code yes} a string, as yaml-language-server reads it.
 * <p>
 * A policy repository takes pull requests from many people, so a file is bounded before it costs memory
 * or stack (README "Limits"): its size, its number of documents, its nesting, and what its aliases expand
 * to. Each limit is far above what a real policy needs, and a 1,048,576-rule file stays within all of them.
 */
final class YamlReader {

    /**
     * @param stop the error that ended reading early (a syntax error, a limit), also in {@code errors}: shown
     *             even when the file has more errors than are shown
     */
    record Result(List<YamlDocument> documents, List<PolicyError> errors, Optional<PolicyError> stop) {
    }

    private YamlReader() {
    }

    /** 64 Mi code points: a file of 1,048,576 rules of the longest form fits. */
    static final int MAX_CODE_POINTS = 64 * 1024 * 1024;
    /**
     * Documents per file: one policy each. More belong in more files; the limit keeps the cost of one file
     * (every document converted and validated before the first error is shown) near a second.
     */
    static final int MAX_DOCUMENTS = 1_000;
    /** Nested mappings and lists, aliases expanded; a policy needs 6 (spec, rules, a rule, prefixes...). */
    static final int MAX_DEPTH = 64;
    /**
     * Nodes that aliases add to a file, counted after expansion: 100,000, or as many as the file writes out
     * if that is more (a shared list of prefixes reused once more, whatever its size). The 20-level
     * "billion laughs" (3 x 2^20 nodes from 644 bytes) is refused at its 15th level, before anything is built.
     */
    static final long MAX_ALIAS_NODES = 100_000;
    /** Digits of a number: 2^64 has 20; parsing a 100,000-digit one takes a second (BigInteger is quadratic). */
    static final int MAX_NUMBER_LENGTH = 100;

    static Result read(String file, String text) {
        return read(file, text, false);
    }

    /**
     * @param positions record every node's position now; otherwise each document reads the file again for
     *                  them when first asked ({@link LazyLocations})
     */
    static Result read(String file, String text, boolean positions) {
        Supplier<List<YamlDocument>> again = positions ? null : positionsOnce(file, text);
        long bytes = utf8Length(text);
        if (bytes > PolicyFiles.MAX_BYTES) {
            PolicyError tooLarge = new PolicyError(new Location(file, 1, 1), "", "file is " + bytes + " bytes, more"
                    + " than the " + PolicyFiles.MAX_BYTES + " a policy file may have; split it into several files");
            return new Result(new ArrayList<>(), List.of(tooLarge), Optional.of(tooLarge));
        }
        LoadSettings settings = settings(file);
        if (!positions) {
            // the common file, read fast; a file with any error is read again by snakeyaml, whose errors and
            // positions are the reference (the fast reader carries no positions but each document's start)
            Optional<Parser> fast = FastYamlParser.lazy(file, text);
            if (fast.isPresent()) {
                try {
                    Result result = convert(file, settings, fast.get(), false, false, again);
                    if (result.errors().isEmpty()) {
                        return result;
                    }
                } catch (RuntimeException e) {
                    // the file leaves the fast reader's subset somewhere (FastYamlParser.lazy), or a mistake of
                    // that reader: snakeyaml reads it and reports what it finds
                }
            }
        }
        return convert(file, settings, new ParserImpl(settings, new StreamReader(settings,
                new SurrogateSafeReader(text))), positions, true, again);
    }

    static LoadSettings settings(String file) {
        // the default limit (3 Mi code points, about 75k rules) is below what capacity allows (1Mi rules);
        // snakeyaml's own alias count is superseded by the expanded size that BoundedParser counts
        return LoadSettings.builder().setLabel(file).setSchema(new CoreSchema())
                .setCodePointLimit(MAX_CODE_POINTS).setMaxAliasesForCollections(Integer.MAX_VALUE)
                .setAllowRecursiveKeys(false).setAllowNonScalarKeys(true).build();
    }

    /**
     * A large file read on {@code threads} threads ({@link SplitYaml}), or empty when it is not split or any
     * part of it is not read cleanly: then {@link #read(String, String)} reads it, the reference.
     */
    static Optional<Result> readSplit(String file, String text, int threads) {
        return readSplit(file, text, threads, SplitYaml.MIN_CHARS, SplitYaml.MIN_RUN);
    }

    /** The positions of every document of the file, read once when the first is asked for. */
    private static Supplier<List<YamlDocument>> positionsOnce(String file, String text) {
        return new Supplier<>() {
            private List<YamlDocument> documents;

            @Override
            public synchronized List<YamlDocument> get() {
                if (documents == null) {
                    documents = read(file, text, true).documents();
                }
                return documents;
            }
        };
    }

    /** @param minChars, minRun below these, no split (tests split small files) */
    static Optional<Result> readSplit(String file, String text, int threads, int minChars, int minRun) {
        if (threads < 2 || text.length() < minChars || text.length() > SplitYaml.MAX_CHARS
                || text.length() > MAX_CODE_POINTS - 65_536 || utf8Length(text) > PolicyFiles.MAX_BYTES) {
            return Optional.empty();
        }
        Supplier<List<YamlDocument>> again = positionsOnce(file, text);
        return SplitYaml.read(file, text, threads, minRun, settings(file), again);
    }

    /** @param pointers false when a result with errors is dropped (and the file read again): no pointers made */
    private static Result convert(String file, LoadSettings settings, Parser parser, boolean positions,
                                  boolean pointers, Supplier<List<YamlDocument>> again) {
        return convert(file, settings, parser, positions, pointers, again, MAX_DEPTH);
    }

    /** @param maxDepth {@link #MAX_DEPTH}, less for a part of a file whose root is that deep in the file */
    static Result convert(String file, LoadSettings settings, Parser parser, boolean positions,
                          boolean pointers, Supplier<List<YamlDocument>> again, int maxDepth) {
        List<YamlDocument> documents = new ArrayList<>();
        List<PolicyError> errors = new ArrayList<>();
        PolicyError stop = null;
        YamlToJson converter = null;
        try {
            BoundedParser events = new BoundedParser(parser, maxDepth, MAX_DOCUMENTS, MAX_ALIAS_NODES);
            events.next();   // StreamStart
            // lazy: documents before a syntax error are still returned and validated
            while (!events.checkEvent(Event.ID.StreamEnd)) {
                converter = new YamlToJson(file, settings, events, maxDepth, positions, pointers);
                int index = documents.size();
                // empty: a bare "---" or a document of comments only
                converter.document(() -> again.get().get(index).locations()).ifPresent(documents::add);
                errors.addAll(converter.errors());
                converter = null;
            }
        } catch (BoundedParser.LimitExceeded | YamlEngineException e) {
            // what the document cut short showed before it (a duplicate key above a syntax error) is reported
            // with it: one run of validate shows every error the parser reached
            if (converter != null) {
                errors.addAll(converter.errors());
            }
            stop = stopError(file, e);
        }
        if (stop != null) {
            errors.add(stop);
        }
        return new Result(documents, errors, Optional.ofNullable(stop));
    }

    /** The error that ended reading: a limit, a syntax error, or what else snakeyaml refused. */
    private static PolicyError stopError(String file, RuntimeException ex) {
        return switch (ex) {
            case BoundedParser.LimitExceeded e -> new PolicyError(e.mark.map(m -> YamlToJson.location(file, m))
                    .orElse(new Location(file, 1, 1)), "", e.getMessage());
            case MarkedYamlEngineException e -> syntaxError(file, e);
            default -> new PolicyError(new Location(file, 1, 1), "", "invalid YAML: " + oneLine(ex.getMessage()));
        };
    }

    /**
     * The text in chunks that never end between the two halves of a surrogate pair. snakeyaml-engine (2.10
     * and 3.0.1) reads the low half of a pair cut at its buffer's end past the end of that buffer: an emoji
     * at an unlucky offset (1023, 2047...) of a valid file threw IndexOutOfBoundsException.
     */
    static final class SurrogateSafeReader extends Reader {
        private final String text;
        private int position;

        SurrogateSafeReader(String text) {
            this.text = text;
        }

        @Override
        public int read(char[] buffer, int offset, int length) {
            int n = Math.min(length, text.length() - position);
            if (n <= 0) {
                return length == 0 ? 0 : -1;
            }
            if (n > 1 && Character.isHighSurrogate(text.charAt(position + n - 1))) {
                n--;
            }
            text.getChars(position, position + n, buffer, offset);
            position += n;
            return n;
        }

        @Override
        public void close() {
        }
    }

    private static long utf8Length(String text) {
        // a string cannot be more than 3 bytes per char in UTF-8: only count when that could pass the limit
        return (long) text.length() * 3 <= PolicyFiles.MAX_BYTES ? 0
                : text.getBytes(StandardCharsets.UTF_8).length;
    }

    /** "invalid YAML: problem (context at line L, column C)", placed at the problem. */
    private static PolicyError syntaxError(String file, MarkedYamlEngineException e) {
        Optional<Mark> problem = e.getProblemMark().or(e::getContextMark);
        Location at = problem.map(m -> YamlToJson.location(file, m)).orElse(new Location(file, 1, 1));
        StringBuilder message = new StringBuilder("invalid YAML: ").append(oneLine(e.getProblem()));
        String context = e.getContext();
        if (context != null && !context.isBlank()) {
            message.append(" (").append(oneLine(context));
            e.getContextMark().filter(m -> problem.isEmpty() || m.getLine() != problem.get().getLine()
                            || m.getColumn() != problem.get().getColumn())
                    .ifPresent(m -> message.append(" at line ").append(m.getLine() + 1)
                            .append(", column ").append(m.getColumn() + 1));
            message.append(')');
        }
        return new PolicyError(at, "", message.toString());
    }

    /**
     * snakeyaml's problem and context texts quote at most a token; its snippet of the file (the message
     * of {@code toString}) is never used. Still clipped: a token can be a long scalar.
     */
    private static String oneLine(String s) {
        return s == null ? "" : Shown.clip(s.strip().replaceAll("\\s*\\n\\s*", " "), 160);
    }
}
