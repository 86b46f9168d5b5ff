package dev.bpfgit.policy;

import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.source.Snapshot;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;

/**
 * Parse and validate: YAML, then the JSON Schema of each document, then the checks across documents and
 * files. Every mistake of every file is collected; nothing is returned unless all files are valid, so a
 * partial desired state never reaches compile.
 */
public final class PolicyLoader {
    private static final Comparator<PolicyError> ORDER = Comparator
            .comparing((PolicyError e) -> e.location().file())
            .thenComparingInt(e -> e.location().line())
            .thenComparingInt(e -> e.location().column())
            .thenComparing(PolicyError::pointer)
            .thenComparing(PolicyError::message);

    private final Kinds kinds;
    private final PolicySchema schema;
    private final SchemaMessages messages;
    private final PolicyReader reader;

    public PolicyLoader() {
        this(Kinds.BUILT_IN);
    }

    /** @param kinds the kinds it reads, and their root schema */
    public PolicyLoader(Kinds kinds) {
        this.kinds = kinds;
        this.schema = PolicySchema.of(kinds.schema());
        this.messages = new SchemaMessages(schema);
        this.reader = new PolicyReader(schema, kinds);
    }

    /**
     * @return the policies in file order, then document order
     * @throws PolicyException with every error, sorted by file, line and column
     */
    public List<Policy> load(Snapshot snapshot) {
        return load(snapshot, n -> { });
    }

    /**
     * What one file's text gave: its policies and its errors (a file's result depends on its name and text only).
     *
     * @param split read on several threads ({@link YamlReader#readSplit})
     */
    private record Parsed(String text, List<Policy> policies, List<PolicyError> errors,
                          List<UniqueNames.Named> names, boolean split) {
    }

    /**
     * Threads a large file is read on; 1: every file on the caller's. The property {@code bpfgit.parse.threads}
     * (BPFGIT_JAVA_OPTS) sets it, e.g. to 1 to compare against the serial read (bench/cold, bench/sidecar).
     */
    private int threads = Math.max(1, Integer.getInteger("bpfgit.parse.threads",
            Math.min(SplitYaml.MAX_RUNS, Runtime.getRuntime().availableProcessors())));

    /**
     * @param threads how many threads one large file may be read on (default: the cores, up to
     *                {@link SplitYaml#MAX_RUNS}); 1 reads every file on the caller's thread. Only the time
     *                differs: a load with any error is done again on one thread, whose errors are the ones shown.
     */
    public PolicyLoader splitting(int threads) {
        this.threads = Math.max(1, threads);
        return this;
    }

    private int splitMinChars = SplitYaml.MIN_CHARS, splitMinRun = SplitYaml.MIN_RUN;

    /** As {@link #splitting(int)}, for files and runs as small as these (tests). */
    PolicyLoader splitting(int threads, int minChars, int minRun) {
        splitMinChars = minChars;
        splitMinRun = minRun;
        return splitting(threads);
    }

    private java.util.Map<String, Parsed> kept;   // null: files are not kept

    /**
     * Keeps each file's result for the next {@link #load} (the sidecar's): a file whose text is unchanged is
     * not parsed again, only the checks across files run again. Holds the last snapshot's texts.
     */
    public PolicyLoader keepingFiles() {
        kept = new java.util.HashMap<>();
        return this;
    }

    /** @param filesDone told the number of files parsed and checked so far, after each file */
    public List<Policy> load(Snapshot snapshot, java.util.function.IntConsumer filesDone) {
        try {
            return load(snapshot, filesDone, threads);
        } catch (PolicyException e) {
            if (!split) {
                throw e;
            }
            // errors, their order and their wording are the serial read's: read again, every file on one thread
            if (kept != null) {
                kept.values().removeIf(Parsed::split);
            }
            return load(snapshot, n -> { }, 1);
        }
    }

    /** Whether the last load read a file (or kept one read) on several threads. */
    private boolean split;

    private List<Policy> load(Snapshot snapshot, java.util.function.IntConsumer filesDone, int threads) {
        split = false;
        List<PolicyError> errors = new ArrayList<>();
        List<Policy> policies = new ArrayList<>();
        List<UniqueNames.Named> names = new ArrayList<>();
        int[] done = {0};
        java.util.Map<String, Parsed> next = kept == null ? null : new java.util.HashMap<>();
        new TreeMap<>(snapshot.files()).forEach((file, text) -> {
            Parsed was = kept == null ? null : kept.get(file);
            if (was != null && was.text().equals(text)) {
                split |= was.split();
                policies.addAll(was.policies());
                errors.addAll(was.errors());
                names.addAll(was.names());
                next.put(file, was);
                filesDone.accept(++done[0]);
                return;
            }
            int from = policies.size();
            int errorsFrom = errors.size();
            int namesFrom = names.size();
            List<PolicyError> fileErrors = new ArrayList<>();
            List<PolicyError> stop = new ArrayList<>(1);
            boolean fileSplit = false;
            try {
                fileSplit = load(file, text, policies, names, fileErrors, stop, threads);
            } catch (Throwable t) {
                stop.add(unreadable(file, t));
            }
            split |= fileSplit;
            errors.addAll(firstOf(fileErrors));
            errors.addAll(stop);   // why the rest of the file was not read: always shown
            if (next != null) {
                next.put(file, new Parsed(text, List.copyOf(policies.subList(from, policies.size())),
                        List.copyOf(errors.subList(errorsFrom, errors.size())),
                        List.copyOf(names.subList(namesFrom, names.size())), fileSplit));
            }
            filesDone.accept(++done[0]);
        });
        if (next != null) {
            kept = next;
        }
        // a name given twice, among every document that names itself clearly (valid or not: a duplicate is
        // reported with the document's other errors, in one pass)
        errors.addAll(UniqueNames.checkNamed(names));
        // the kinds' checks across documents, among those that are valid on their own: an invalid one would only
        // add noise
        for (PolicyKind kind : kinds.all()) {
            errors.addAll(kind.check(policies.stream().filter(p -> p.kind().equals(kind.name())).toList()));
        }
        if (!errors.isEmpty()) {
            throw new PolicyException(errors.stream().map(PolicyLoader::clipped).distinct().sorted(ORDER).toList());
        }
        return List.copyOf(policies);
    }

    /** @return whether the file was read on several threads */
    private boolean load(String file, String text, List<Policy> policies, List<UniqueNames.Named> names,
                         List<PolicyError> errors, List<PolicyError> stop, int threads) {
        java.util.Optional<YamlReader.Result> split = YamlReader.readSplit(file, text, threads, splitMinChars, splitMinRun);
        YamlReader.Result yaml = split.orElseGet(() -> YamlReader.read(file, text));
        yaml.stop().ifPresent(stop::add);
        yaml.errors().stream().filter(e -> yaml.stop().map(s -> s != e).orElse(true)).forEach(errors::add);
        for (YamlDocument doc : yaml.documents()) {
            List<SchemaViolation> invalid = schema.validate(doc.root(), kinds);
            if (!invalid.isEmpty()) {
                List<PolicyError> schemaErrors = messages.rewrite(invalid, doc);
                errors.addAll(schemaErrors);
                Set<String> flagged = new java.util.HashSet<>();
                schemaErrors.forEach(e -> flagged.add(e.pointer()));
                prefixErrors(doc).stream().filter(e -> !flagged.contains(e.pointer())).forEach(errors::add);
                named(doc, flagged).ifPresent(names::add);
                continue;
            }
            // a document with a duplicate key or a custom tag never becomes a policy, but its rules are still
            // checked (a prefix with host bits set...): validate reports them with it, not on its next run
            Policy read = reader.read(doc, errors::add);
            if (doc.clean()) {
                policies.add(read);
                names.add(UniqueNames.Named.of(read));
            } else {
                // its name counts unless the YAML mistake is in the name itself (a duplicate 'name' key)
                if (yaml.errors().stream().noneMatch(e -> NAMING.contains(e.pointer()))) {
                    names.add(UniqueNames.Named.of(read));
                }
                // its kind's checks of it alone (a prefix given twice...); with others it would only add noise
                errors.addAll(kinds.named(read.kind()).check(List.of(read)));
            }
        }
        return split.isPresent();
    }

    /** Where a mistake makes a document's kind or name unclear: then it takes part in no duplicate check. */
    private static final Set<String> NAMING = Set.of("/kind", "/metadata", "/metadata/name");

    /**
     * The kind and name of a document the schema refused, when both are clear: a known kind, a name the
     * schema accepts. A document whose kind or name is itself wrong is in no duplicate (that would be noise).
     *
     * @param flagged the pointers of its schema errors
     */
    private java.util.Optional<UniqueNames.Named> named(YamlDocument doc, Set<String> flagged) {
        if (doc.root() == null || !doc.root().isObject() || flagged.stream().anyMatch(NAMING::contains)) {
            return java.util.Optional.empty();
        }
        var kind = doc.root().path("kind");
        var name = doc.root().path("metadata").path("name");
        if (!kind.isString() || !name.isString() || kinds.find(kind.asString()).isEmpty()) {
            return java.util.Optional.empty();
        }
        // its schema errors have found the document's locations already
        Location at = doc.at("/metadata/name");
        return java.util.Optional.of(new UniqueNames.Named(kind.asString(), name.asString(), () -> at));
    }

    /** Errors shown per file: a file of 100,000 unknown keys makes one screen of errors, not 100,000 lines. */
    static final int MAX_ERRORS_PER_FILE = 100;

    private static List<PolicyError> firstOf(List<PolicyError> fileErrors) {
        if (fileErrors.size() <= MAX_ERRORS_PER_FILE) {
            return fileErrors;
        }
        List<PolicyError> sorted = fileErrors.stream().distinct().sorted(ORDER).toList();
        if (sorted.size() <= MAX_ERRORS_PER_FILE) {
            return sorted;
        }
        List<PolicyError> shown = new ArrayList<>(sorted.subList(0, MAX_ERRORS_PER_FILE));
        shown.add(new PolicyError(sorted.get(MAX_ERRORS_PER_FILE).location(), "", (sorted.size() - MAX_ERRORS_PER_FILE)
                + " more errors in this file from here on, not shown; fix those above first"));
        return shown;
    }

    /**
     * Whatever a file makes the parser, the schema validator or a reader throw is that file's error, not a
     * trace: the limits of {@link YamlReader} should leave nothing to catch, but one missed case must cost
     * one file, not the process. The exception's message is not shown: it may quote the file.
     */
    private static PolicyError unreadable(String file, Throwable t) {
        String why = switch (t) {
            case StackOverflowError _ -> "nested too deeply to read";
            case OutOfMemoryError _ -> "too large to read in the memory available";
            // the class names the bug for a report; "Exception" would read as a crash, which this is not
            default -> "could not be read: the parser failed ("
                    + t.getClass().getSimpleName().replaceAll("(Exception|Error)$", "") + "); please report it";
        };
        return new PolicyError(new Location(file, 1, 1), "", why + "; it was not applied");
    }

    /** Keys and values of the file appear in pointers and messages; none may flood or rewrite the output. */
    private static PolicyError clipped(PolicyError e) {
        String pointer = Shown.clip(e.pointer(), 200), message = Shown.message(e.message());
        return pointer.equals(e.pointer()) && message.equals(e.message()) ? e
                : new PolicyError(e.location(), pointer, message);
    }

    /**
     * Prefix mistakes (host bits set, not an address) of a document that also fails the schema: the
     * schema cannot express them, and holding them back until the schema errors are fixed would make
     * the user run validate twice.
     */
    private static List<PolicyError> prefixErrors(YamlDocument doc) {
        List<PolicyError> out = new ArrayList<>();
        if (doc.root() == null) {
            return out;
        }
        var rules = doc.root().path("spec").path("rules");
        if (!rules.isArray()) {
            return out;
        }
        for (int i = 0; i < rules.size(); i++) {
            prefixError(doc, rules.get(i).path("prefix"), "/spec/rules/" + i + "/prefix", out);
            var list = rules.get(i).path("prefixes");
            for (int j = 0; j < list.size() && list.isArray(); j++) {
                prefixError(doc, list.get(j), "/spec/rules/" + i + "/prefixes/" + j, out);
            }
        }
        return out;
    }

    private static void prefixError(YamlDocument doc, tools.jackson.databind.JsonNode prefix, String pointer,
                                    List<PolicyError> out) {
        if (!prefix.isString()) {
            return;
        }
        try {
            Prefix.parse(prefix.asString());
        } catch (IllegalArgumentException e) {
            out.add(doc.error(pointer, e.getMessage()));
        }
    }
}
