package dev.bpfgit.policy;

import com.networknt.schema.ValidationMessage;
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

    private final PolicySchema schema = PolicySchema.get();
    private final SchemaMessages messages = new SchemaMessages(schema);
    private final PolicyReader reader = new PolicyReader(schema);

    /**
     * @return the policies in file order, then document order
     * @throws PolicyException with every error, sorted by file, line and column
     */
    public List<Policy> load(Snapshot snapshot) {
        List<PolicyError> errors = new ArrayList<>();
        List<Policy> policies = new ArrayList<>();
        new TreeMap<>(snapshot.files()).forEach((file, text) -> {
            try {
                load(file, text, policies, errors);
            } catch (Throwable t) {
                errors.add(unreadable(file, t));
            }
        });
        // across documents, among those that are valid on their own: an invalid one would only add noise
        errors.addAll(UniqueNames.check(policies));
        errors.addAll(TrafficPolicyChecks.check(policies));
        if (!errors.isEmpty()) {
            throw new PolicyException(errors.stream().map(PolicyLoader::clipped).distinct().sorted(ORDER).toList());
        }
        return List.copyOf(policies);
    }

    private void load(String file, String text, List<Policy> policies, List<PolicyError> errors) {
        YamlReader.Result yaml = YamlReader.read(file, text);
        errors.addAll(yaml.errors());
        for (YamlDocument doc : yaml.documents()) {
            Set<ValidationMessage> invalid = schema.validate(doc.root());
            if (!invalid.isEmpty()) {
                List<PolicyError> schemaErrors = messages.rewrite(invalid, doc);
                errors.addAll(schemaErrors);
                Set<String> flagged = new java.util.HashSet<>();
                schemaErrors.forEach(e -> flagged.add(e.pointer()));
                prefixErrors(doc).stream().filter(e -> !flagged.contains(e.pointer())).forEach(errors::add);
                continue;
            }
            if (doc.clean()) {
                policies.add(reader.read(doc, errors::add));
            }
        }
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
            default -> "could not be read (" + t.getClass().getSimpleName() + ")";
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
            var prefix = rules.get(i).path("prefix");
            if (!prefix.isTextual()) {
                continue;
            }
            try {
                Prefix.parse(prefix.asText());
            } catch (IllegalArgumentException e) {
                out.add(doc.error("/spec/rules/" + i + "/prefix", e.getMessage()));
            }
        }
        return out;
    }
}
