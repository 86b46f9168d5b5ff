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
        return load(snapshot, n -> { });
    }

    /** @param filesDone told the number of files parsed and checked so far, after each file */
    public List<Policy> load(Snapshot snapshot, java.util.function.IntConsumer filesDone) {
        List<PolicyError> errors = new ArrayList<>();
        List<Policy> policies = new ArrayList<>();
        int[] done = {0};
        new TreeMap<>(snapshot.files()).forEach((file, text) -> {
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
            filesDone.accept(++done[0]);
        });
        // across documents, among those that are valid on their own: an invalid one would only add noise
        errors.addAll(UniqueNames.check(policies));
        errors.addAll(TrafficPolicyChecks.check(policies));
        if (!errors.isEmpty()) {
            throw new PolicyException(errors.stream().distinct().sorted(ORDER).toList());
        }
        return List.copyOf(policies);
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
