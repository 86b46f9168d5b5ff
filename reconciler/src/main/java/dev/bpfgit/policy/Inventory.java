package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The hosts of {@code plan --hosts FILE} (design §4, schema/inventory.schema.json). It is read like a policy
 * file, so its mistakes are reported the same way: every one, with file:line:column.
 *
 * @param file  the inventory file as given
 * @param hosts one entry per host, a group expanded to its members, in file order
 */
public record Inventory(Path file, List<Host> hosts) {

    public Inventory {
        hosts = List.copyOf(hosts);
    }

    /**
     * One host.
     *
     * @param state its {@code state export} file, resolved against the inventory's directory
     * @param at    where its state file is named (else its name), for messages about it (a missing file)
     */
    public record Host(String name, Map<String, String> labels, Optional<Path> state, Location at) {
        public Host {
            labels = Map.copyOf(new TreeMap<>(labels));
        }
    }

    /**
     * @throws PolicyException with every mistake of the file
     * @throws IOException     when the file cannot be read
     */
    public static Inventory read(Path file) throws IOException {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(file + ": no such file");
        }
        String name = file.toString();
        YamlReader.Result yaml = YamlReader.read(name, text);
        List<PolicyError> errors = new ArrayList<>(yaml.errors());
        if (yaml.documents().isEmpty() && errors.isEmpty()) {
            errors.add(new PolicyError(new Location(name, 1, 1), "", "the inventory is empty: it needs a 'hosts' list"));
        }
        if (yaml.documents().size() > 1) {
            errors.add(yaml.documents().get(1).error("", "an inventory is one YAML document; remove this '---'"));
        }
        List<Host> hosts = new ArrayList<>();
        if (!yaml.documents().isEmpty()) {
            YamlDocument doc = yaml.documents().getFirst();
            PolicySchema schema = PolicySchema.inventory();
            // the branches of "name or names" each say "'name' is required": the entry's errorMessage says it better
            List<SchemaViolation> invalid = schema.validate(doc.root()).stream()
                    .filter(m -> !(m.keyword().equals("required") && m.schemaPath().contains("oneOf")))
                    .toList();
            if (!invalid.isEmpty()) {
                errors.addAll(new SchemaMessages(schema).rewrite(invalid, doc));
            } else if (doc.clean()) {
                hosts.addAll(hosts(doc, file.toAbsolutePath().getParent(), errors));
            }
        }
        if (!errors.isEmpty()) {
            throw new PolicyException(errors.stream().distinct().sorted(java.util.Comparator
                    .comparingInt((PolicyError e) -> e.location().line())
                    .thenComparingInt(e -> e.location().column())).toList());
        }
        return new Inventory(file, hosts);
    }

    private static List<Host> hosts(YamlDocument doc, Path dir, List<PolicyError> errors) {
        List<Host> out = new ArrayList<>();
        Map<String, String> seen = new HashMap<>();
        JsonNode entries = doc.root().get("hosts");
        for (int i = 0; i < entries.size(); i++) {
            JsonNode e = entries.get(i);
            String at = "/hosts/" + i;
            Map<String, String> labels = new TreeMap<>();
            e.path("labels").properties().forEach(l -> labels.put(l.getKey(), l.getValue().asString()));
            Optional<Path> state = e.has("state") ? Optional.of(dir.resolve(e.get("state").asString()).normalize())
                    : Optional.empty();
            List<String> names = new ArrayList<>();
            List<String> pointers = new ArrayList<>();
            if (e.has("name")) {
                names.add(e.get("name").asString());
                pointers.add(at + "/name");
            } else {
                for (int j = 0; j < e.get("names").size(); j++) {
                    names.add(e.get("names").get(j).asString());
                    pointers.add(at + "/names/" + j);
                }
            }
            for (int j = 0; j < names.size(); j++) {
                String first = seen.putIfAbsent(names.get(j), pointers.get(j));
                if (first != null) {
                    errors.add(doc.error(pointers.get(j), "host " + names.get(j) + " is listed twice (first at line "
                            + doc.at(first).line() + ")"));
                    continue;
                }
                out.add(new Host(names.get(j), labels, state, doc.at(state.isPresent() ? at + "/state" : pointers.get(j))));
            }
        }
        return out;
    }
}
