package dev.bpfgit.kind.traffic;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.kind.PolicyKind;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The items of {@code spec.rules} checked directly, for policies of 100,000 rules: the JSON Schema validator
 * costs microseconds per item, this a fraction. It accepts only what {@code schema/trafficpolicy.schema.json}
 * accepts, and is not sure of the rest (a float mark, a key it does not know, a mistake): those go to the
 * validator, which decides and words the errors. Its words (enums, patterns, bounds) are read from the
 * schema files; {@link #FINGERPRINT} is the schema it was written against, so a changed schema turns it off
 * (a test says so) rather than letting it drift.
 */
final class TrafficRuleCheck {
    /** {@code PolicySchema.fingerprint("TrafficPolicy")} of the schema this class follows. */
    static final String FINGERPRINT = "d8b5807267f4110c";

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final Pattern prefix;
    private final boolean prefixScanned;
    private final Pattern interfaceName;
    private final Pattern markText;
    private final Set<String> actions = new HashSet<>();
    private final long maxItems;
    private final long markMin;
    private final long markMax;

    private TrafficRuleCheck() {
        JsonNode traffic = read("schema/trafficpolicy.schema.json");
        JsonNode common = read("schema/common.schema.json");
        JsonNode rule = traffic.at("/$defs/rule/properties");
        String prefixPattern = common.at("/$defs/prefix/pattern").asString();
        prefix = Pattern.compile(prefixPattern);
        prefixScanned = prefixPattern.equals(PREFIX_PATTERN);
        interfaceName = Pattern.compile(traffic.at("/$defs/interfaceName/pattern").asString());
        markText = Pattern.compile(rule.at("/mark/pattern").asString());
        // a loop, not a lambda: this runs first on a cold plan or apply's first large policy (Holder), and a
        // lambda would be a class generated then, outside the AOT cache
        for (JsonNode a : rule.at("/action/enum")) {
            actions.add(a.asString());
        }
        maxItems = rule.at("/prefixes/maxItems").asLong();
        markMin = rule.at("/mark/minimum").asLong();
        markMax = rule.at("/mark/maximum").asLong();
    }

    private static final class Holder {
        static final TrafficRuleCheck INSTANCE = new TrafficRuleCheck();
    }

    static PolicyKind.ItemCheck itemCheck() {
        return new PolicyKind.ItemCheck("rules", FINGERPRINT, (spec, item) -> Holder.INSTANCE.valid(spec, item));
    }

    /** True only if the schema accepts {@code item} as a rule of {@code spec}. */
    boolean valid(ObjectNode spec, JsonNode item) {
        if (!(item instanceof ObjectNode rule) || rule.size() > 3) {
            return false;   // more than prefix(es), action and to or mark: let the validator say what
        }
        JsonNode action = rule.get("action"), one = rule.get("prefix"), many = rule.get("prefixes");
        if (action == null || !action.isString() || !actions.contains(action.asString()) || (one == null) == (many == null)) {
            return false;
        }
        String a = action.asString();
        boolean redirect = a.equals("redirect"), mark = a.equals("mark");
        if (mark && !(spec.get("hook") instanceof JsonNode hook && hook.isString() && !hook.asString().equals("xdp"))) {
            return false;   // xdp (or no hook, which the rest of the document's validation reports)
        }
        int expected = 2 + (redirect || mark ? 1 : 0);
        if (rule.size() != expected) {
            return false;
        }
        if (redirect && !matches(interfaceName, rule.get("to"))) {
            return false;
        }
        if (mark && !markValue(rule.get("mark"))) {
            return false;
        }
        if (one != null) {
            return prefix(one);
        }
        if (!many.isArray() || many.isEmpty() || many.size() > maxItems) {
            return false;
        }
        for (JsonNode p : many) {
            if (!prefix(p)) {
                return false;
            }
        }
        return true;
    }

    /** The pattern of a prefix this class knows how to scan without a regular expression. */
    static final String PREFIX_PATTERN = "^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$";

    /** The schema's prefix pattern, scanned by hand when it is {@link #PREFIX_PATTERN} (a regex per prefix was a tenth of a 100k load). */
    private boolean prefix(JsonNode value) {
        if (!prefixScanned) {
            return matches(prefix, value);
        }
        return value != null && value.isString() && scanPrefix(value.asString());
    }

    /** What {@link #PREFIX_PATTERN} finds in a string without line breaks; false for any string with one. */
    static boolean scanPrefix(String s) {
        int n = s.length(), i = 0;
        while (i < n) {
            char c = s.charAt(i);
            if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.') {
                i++;
            } else {
                break;
            }
        }
        if (i == 0) {
            return false;
        }
        if (i == n) {
            return true;
        }
        if (s.charAt(i) != '/') {
            return false;
        }
        int digits = n - i - 1;
        if (digits < 1 || digits > 3) {
            return false;
        }
        for (int j = i + 1; j < n; j++) {
            char c = s.charAt(j);
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    private boolean markValue(JsonNode mark) {
        if (mark == null) {
            return false;
        }
        if (mark.isIntegralNumber() && mark.canConvertToLong()) {
            return mark.asLong() >= markMin && mark.asLong() <= markMax;
        }
        return matches(markText, mark);
    }

    /**
     * A string the pattern finds, with no line break in it: the validator's regular expressions differ from
     * the JDK's on where {@code $} matches around a final newline, and no valid value has one.
     */
    private static boolean matches(Pattern pattern, JsonNode value) {
        if (value == null || !value.isString()) {
            return false;
        }
        String s = value.asString();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\n' || c == '\r' || c == '\u0085' || c == '\u2028' || c == '\u2029') {
                return false;
            }
        }
        return pattern.matcher(s).find();
    }

    private static JsonNode read(String resource) {
        try (InputStream in = TrafficRuleCheck.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException(resource + " is not on the classpath");
            }
            return MAPPER.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
