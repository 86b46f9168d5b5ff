package dev.bpfgit.policy;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.cfg.JsonNodeFeature;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

import dev.bpfgit.kernel.linux.BulkSha256;
import dev.bpfgit.kind.Kinds;

import java.nio.file.FileSystems;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.regex.PatternSyntaxException;

/** Turns one schema-valid document into a {@link Policy}: the envelope, {@code spec.hosts}, the kind's spec, the digest. */
final class PolicyReader {
    /** Keys sorted so that reordering a mapping does not change a digest. */
    private static final ObjectMapper CANONICAL = JsonMapper.builder()
            .enable(JsonNodeFeature.WRITE_PROPERTIES_SORTED)
            .build();

    private final PolicySchema schema;
    private final Kinds kinds;

    PolicyReader(PolicySchema schema, Kinds kinds) {
        this.schema = schema;
        this.kinds = kinds;
    }

    /**
     * @return the policy; when {@code errors} were reported it lacks what was wrong (a rule with a bad prefix,
     *         a bad glob) and serves only the checks across policies, which then report everything at once
     */
    Policy read(YamlDocument doc, Consumer<PolicyError> errors) {
        // in place: the document is not used after this, but for its locations
        ObjectNode canonical = (ObjectNode) doc.root();
        String kind = canonical.get("kind").asString();
        schema.applyDefaults(canonical, kind);
        String name = canonical.get("metadata").get("name").asString();
        ObjectNode spec = (ObjectNode) canonical.get("spec");
        HostSelector hosts = hosts(spec.get("hosts"), doc, errors);
        PolicySpec parsed = kinds.named(kind).read(spec, "/spec", doc::error, errors);
        return new Policy(kind, name, hosts, parsed, doc.start(), doc.locations(), digest(canonical));
    }

    private static HostSelector hosts(JsonNode hosts, YamlDocument doc, Consumer<PolicyError> errors) {
        if (hosts == null) {
            return HostSelector.ALL;
        }
        List<String> names = new ArrayList<>();
        JsonNode globs = hosts.path("names");
        for (int i = 0; i < globs.size(); i++) {
            String glob = globs.get(i).asString();
            try {
                // the JDK's words for a syntax error; Glob for the matching, and its own limits
                FileSystems.getDefault().getPathMatcher("glob:" + glob);
                Glob.compile(glob);
                names.add(glob);
            } catch (PatternSyntaxException e) {
                // the JDK says "Missing '}" without the closing quote
                String why = e.getDescription().replaceFirst("^Missing '(.)$", "missing '$1'");
                errors.accept(doc.error("/spec/hosts/names/" + i, "invalid glob \"" + Shown.value(glob) + "\": "
                        + why));
            } catch (IllegalArgumentException e) {
                errors.accept(doc.error("/spec/hosts/names/" + i, "invalid glob \"" + Shown.value(glob) + "\": "
                        + e.getMessage()));
            }
        }
        Map<String, String> labels = new LinkedHashMap<>();
        hosts.path("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asString()));
        return new HostSelector(names, labels);
    }

    /**
     * SHA-256 of the document with defaults applied, values normalized and keys sorted: comments and order do not
     * count. The canonical JSON's UTF-8 bytes go straight into the digest ({@link CanonicalDigest}).
     */
    static String digest(JsonNode canonical) {
        MessageDigest sha = BulkSha256.fresh();   // libcrypto's where there is one (C1 has no SHA intrinsic)
        new CanonicalDigest(CANONICAL, sha).write(canonical);
        return HexFormat.of().formatHex(sha.digest());
    }
}
