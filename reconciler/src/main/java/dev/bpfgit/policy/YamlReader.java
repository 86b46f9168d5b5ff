package dev.bpfgit.policy;

import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.schema.CoreSchema;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Splits a policy file into its YAML documents. Composing (not loading) keeps every node's position; the
 * YAML 1.2 core schema makes {@code 0x10} an integer and {@code yes} a string, as yaml-language-server reads it.
 */
final class YamlReader {

    record Result(List<YamlDocument> documents, List<PolicyError> errors) {
    }

    private YamlReader() {
    }

    /** 64 Mi code points: a file of 1,048,576 rules of the longest form fits. */
    static final int MAX_CODE_POINTS = 64 * 1024 * 1024;

    static Result read(String file, String text) {
        // the default limit (3 Mi code points, about 75k rules) is below what capacity allows (1Mi rules)
        LoadSettings settings = LoadSettings.builder().setLabel(file).setSchema(new CoreSchema())
                .setCodePointLimit(MAX_CODE_POINTS).build();
        List<YamlDocument> documents = new ArrayList<>();
        List<PolicyError> errors = new ArrayList<>();
        try {
            // lazy: documents before a syntax error are still returned and validated
            for (Node node : new Compose(settings).composeAllFromString(text)) {
                if (isEmpty(node)) {
                    continue;   // a bare "---" or a document of comments only
                }
                YamlToJson converter = new YamlToJson(file, settings);
                documents.add(converter.document(node));
                errors.addAll(converter.errors());
            }
        } catch (MarkedYamlEngineException e) {
            errors.add(syntaxError(file, e));
        } catch (YamlEngineException e) {
            errors.add(new PolicyError(new Location(file, 1, 1), "", "invalid YAML: " + e.getMessage()));
        }
        return new Result(documents, errors);
    }

    private static boolean isEmpty(Node node) {
        return node instanceof ScalarNode s && s.getTag().equals(Tag.NULL) && s.getValue().isEmpty();
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

    private static String oneLine(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\n\\s*", " ");
    }
}
