package dev.bpfgit.state;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.Features;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ProgramInfo;
import dev.bpfgit.observe.LiveState;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code bpfgit state export}: the live managed state and the host facts as JSON, so that CI can plan a pull
 * request against a real host with {@code plan --state FILE}, with no root and no kernel. Reading it back
 * yields a {@link MemoryKernel} that observe reads exactly as it read the real one.
 */
public final class StateFile {
    public static final String FORMAT = "bpfgit.dev/state/v1";
    /** As in a plan (schema/plan.schema.json): the version readers check; {@code format} keeps its /v1. */
    public static final int VERSION = 1;
    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    /** A state file read back. */
    public record Loaded(Path root, HostFacts host, MemoryKernel kernel) {
    }

    private StateFile() {
    }

    public static String write(LiveState live, HostFacts host, int possibleCpus) {
        java.io.StringWriter out = new java.io.StringWriter();
        write(live, host, possibleCpus, out);
        return out.toString();
    }

    /**
     * {@link #write(LiveState, HostFacts, int)} straight to {@code out}, which stays open. The entries of
     * each map are written as they are read from it: a host with a million entries has a state file of about
     * 100 MB, which as a JSON tree and then a String took more than the CLI's heap (bench/README.md).
     */
    public static void write(LiveState live, HostFacts host, int possibleCpus, java.io.Writer out) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("root", live.root().toString());
        ObjectNode h = root.putObject("host");
        h.put("name", host.name());
        ObjectNode labels = h.putObject("labels");
        new TreeMap<>(host.labels()).forEach(labels::put);
        ObjectNode ifs = h.putObject("interfaces");
        live.interfaces().forEach(ifs::put);
        h.put("possibleCpus", possibleCpus);
        host.cgroups().ifPresent(cgs -> {
            ObjectNode c = h.putObject("cgroups");
            new TreeMap<>(cgs).forEach(c::put);
        });
        ObjectNode f = h.putObject("features");
        f.put("kernel", host.features().kernel());
        ArrayNode present = f.putArray("present");
        ArrayNode missing = f.putArray("missing");
        ArrayNode forced = f.putArray("forced");
        host.features().table().forEach((feature, has) -> (has ? present : missing).add(feature.key()));
        host.features().forced().stream().sorted().forEach(x -> forced.add(x.key()));
        ArrayNode dirs = root.putArray("dirs");
        live.dirs().forEach(d -> dirs.add(d.toString()));
        ArrayNode maps = root.putArray("maps");
        live.maps().values().forEach(m -> {
            ObjectNode n = maps.addObject();
            n.put("pin", m.pin().toString());
            MapInfo i = m.info();
            n.put("id", i.id()).put("name", i.name()).put("type", i.type()).put("keySize", i.keySize())
                    .put("valueSize", i.valueSize()).put("maxEntries", i.maxEntries()).put("flags", i.flags())
                    .put("btfId", i.btfId());
            m.entries().ifPresent(es -> n.putPOJO("entries", new Entries(es)));
        });
        ArrayNode progs = root.putArray("programs");
        live.programs().values().forEach(p -> progs.addObject().put("pin", p.pin().toString())
                .put("id", p.info().id()).put("name", p.info().name()).put("type", p.info().type())
                .put("tag", p.info().tag()));
        ArrayNode links = root.putArray("links");
        live.links().values().forEach(l -> links.addObject().put("pin", l.pin().toString())
                .put("id", l.info().id()).put("type", l.info().type()).put("progId", l.info().progId())
                .put("ifindex", l.info().ifindex()).put("attachType", l.info().attachType()));
        ArrayNode att = root.putArray("attached");
        live.attached().forEach((at, ps) -> {
            ObjectNode n = att.addObject();
            switch (at) {
                case AttachPoint.Xdp x -> n.put("type", "xdp").put("interface", x.ifname());
                case AttachPoint.Tcx t -> n.put("type", "tcx-" + t.direction().name().toLowerCase())
                        .put("interface", t.ifname());
                case AttachPoint.Cgroup c -> n.put("type", "cgroup-" + c.hook().label).put("cgroup", c.path());
                case AttachPoint.LegacyTc t -> n.put("type", "legacy-tc-" + t.direction().name().toLowerCase())
                        .put("interface", t.ifname());
            }
            ArrayNode pa = n.putArray("programs");
            ps.forEach(p -> pa.addObject().put("id", p.progId()).put("name", p.name()));
        });
        try {
            JSON.writer().without(tools.jackson.core.StreamWriteFeature.AUTO_CLOSE_TARGET)
                    .writeValue(out, root);
            out.write("\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The JSON tree of a state file as {@code readTree} makes it, except the {@code entries} of each map
     * ({@code maps[i].entries}): those are decoded while they are read into two byte arrays ({@link Packed}),
     * not kept as a node per entry and per key (a host of a million entries: hundreds of MB as a tree).
     */
    private static final class Tree {
        private static final tools.jackson.databind.node.JsonNodeFactory NODES =
                tools.jackson.databind.node.JsonNodeFactory.instance;

        static JsonNode read(java.io.Reader in) throws IOException {
            try (tools.jackson.core.JsonParser p = JSON.createParser(in)) {
                return p.nextToken() == null ? null : node(p, "");
            }
        }

        private static JsonNode node(tools.jackson.core.JsonParser p, String path) throws IOException {
            return switch (p.currentToken()) {
                case START_OBJECT -> {
                    ObjectNode o = NODES.objectNode();
                    boolean map = path.matches("maps\\[\\d+\\]");
                    while (p.nextToken() == tools.jackson.core.JsonToken.PROPERTY_NAME) {
                        String name = p.currentName();
                        p.nextToken();
                        o.set(name, map && name.equals("entries") && p.currentToken() == tools.jackson.core.JsonToken.START_ARRAY
                                ? NODES.pojoNode(Packed.read(p)) : node(p, path.isEmpty() ? name : path + "." + name));
                    }
                    yield o;
                }
                case START_ARRAY -> {
                    ArrayNode a = NODES.arrayNode();
                    int i = 0;
                    while (p.nextToken() != tools.jackson.core.JsonToken.END_ARRAY) {
                        a.add(node(p, path + "[" + i++ + "]"));
                    }
                    yield a;
                }
                case VALUE_STRING -> NODES.stringNode(p.getString());
                case VALUE_NUMBER_INT -> switch (p.getNumberType()) {
                    case INT -> NODES.numberNode(p.getIntValue());
                    case LONG -> NODES.numberNode(p.getLongValue());
                    default -> NODES.numberNode(p.getBigIntegerValue());
                };
                case VALUE_NUMBER_FLOAT -> NODES.numberNode(p.getDoubleValue());
                case VALUE_TRUE -> NODES.booleanNode(true);
                case VALUE_FALSE -> NODES.booleanNode(false);
                case VALUE_NULL -> NODES.nullNode();
                default -> throw new tools.jackson.core.exc.StreamReadException(p, "unexpected " + p.currentToken());
            };
        }
    }

    /**
     * A map's {@code [["key hex", "value hex"], ...]} read into packed arrays; the first malformed element is
     * kept and reported when the map is checked, with the message the tree's checks give.
     */
    private static final class Packed {
        private final java.io.ByteArrayOutputStream keys = new java.io.ByteArrayOutputStream();
        private final java.io.ByteArrayOutputStream values = new java.io.ByteArrayOutputStream();
        private int[] keySizes = new int[1024];
        private int[] valueSizes = new int[1024];
        private int n;
        private int badAt = -1;
        private String badPart = "";
        private boolean badPair;

        static Packed read(tools.jackson.core.JsonParser p) throws IOException {
            Packed out = new Packed();
            int j = 0;
            while (p.nextToken() != tools.jackson.core.JsonToken.END_ARRAY) {
                out.element(p, j++);
            }
            return out;
        }

        private void element(tools.jackson.core.JsonParser p, int j) throws IOException {
            if (p.currentToken() != tools.jackson.core.JsonToken.START_ARRAY) {
                p.skipChildren();
                bad(j, true, "");
                return;
            }
            byte[][] pair = new byte[2][];
            int i = 0;
            while (p.nextToken() != tools.jackson.core.JsonToken.END_ARRAY) {
                if (i < 2) {
                    String hex = p.currentToken() == tools.jackson.core.JsonToken.VALUE_STRING ? p.getString() : null;
                    pair[i] = hex == null ? null : decode(hex);
                    if (pair[i] == null) {
                        bad(j, false, "[" + i + "]");
                    }
                }
                p.skipChildren();
                i++;
            }
            if (i != 2) {
                bad(j, true, "");
                return;
            }
            if (pair[0] == null || pair[1] == null || badAt >= 0) {
                return;
            }
            if (n == keySizes.length) {
                keySizes = java.util.Arrays.copyOf(keySizes, n * 2);
                valueSizes = java.util.Arrays.copyOf(valueSizes, n * 2);
            }
            keys.writeBytes(pair[0]);
            values.writeBytes(pair[1]);
            keySizes[n] = pair[0].length;
            valueSizes[n++] = pair[1].length;
        }

        private void bad(int j, boolean pair, String part) {
            if (badAt < 0) {
                badAt = j;
                badPair = pair;
                badPart = part;
            }
        }

        /** The bytes of a string of hex digit pairs, or null. */
        private static byte[] decode(String hex) {
            if (hex.length() % 2 != 0) {
                return null;
            }
            byte[] b = new byte[hex.length() / 2];
            for (int i = 0; i < b.length; i++) {
                int hi = Character.digit(hex.charAt(2 * i), 16);
                int lo = Character.digit(hex.charAt(2 * i + 1), 16);
                if (hi < 0 || lo < 0 || hex.charAt(2 * i) > 'f' || hex.charAt(2 * i + 1) > 'f') {
                    return null;
                }
                b[i] = (byte) (hi << 4 | lo);
            }
            return b;
        }

        /** The entries, checked as the tree's entries are (the first problem, named by its index). */
        Map<Bytes, Bytes> entries(Reader r, String at, int keySize) {
            if (badAt >= 0) {
                String e = at + ".entries[" + badAt + "]";
                throw badPair ? r.error(e, "must be a [key, value] pair of hex strings")
                        : r.error(e + badPart, "must be a string of hex digit pairs");
            }
            boolean uniform = true;
            for (int j = 0; j < n; j++) {
                if (keySizes[j] != keySize) {
                    throw r.error(at + ".entries[" + j + "][0]", "key of " + keySizes[j]
                            + " bytes in a map whose keySize is " + keySize);
                }
                uniform &= valueSizes[j] == valueSizes[0];
            }
            byte[] k = keys.toByteArray();
            byte[] v = values.toByteArray();
            if (uniform && n > 0) {
                return dev.bpfgit.kernel.SortedEntries.ofPacked(k, keySize, v, valueSizes[0], n);
            }
            Map<Bytes, Bytes> out = new HashMap<>();
            for (int j = 0, ko = 0, vo = 0; j < n; ko += keySizes[j], vo += valueSizes[j], j++) {
                out.put(Bytes.wrap(java.util.Arrays.copyOfRange(k, ko, ko + keySizes[j])),
                        Bytes.wrap(java.util.Arrays.copyOfRange(v, vo, vo + valueSizes[j])));
            }
            return out;
        }
    }

    /** A map's entries, sorted by key, as {@code [["key hex", "value hex"], ...]}, written when the tree is. */
    private record Entries(Map<Bytes, Bytes> entries) implements tools.jackson.databind.JacksonSerializable {
        @Override
        public void serialize(tools.jackson.core.JsonGenerator g,
                              tools.jackson.databind.SerializationContext provider) {
            g.writeStartArray();
            if (entries instanceof dev.bpfgit.kernel.SortedEntries s) {   // in key order already
                for (int i = 0; i < s.size(); i++) {
                    g.writeStartArray();
                    g.writeString(s.key(i).toHex());
                    g.writeString(s.value(i).toHex());
                    g.writeEndArray();
                }
            } else {
                for (Map.Entry<Bytes, Bytes> e : new TreeMap<>(entries).entrySet()) {
                    g.writeStartArray();
                    g.writeString(e.getKey().toHex());
                    g.writeString(e.getValue().toHex());
                    g.writeEndArray();
                }
            }
            g.writeEndArray();
        }

        @Override
        public void serializeWithType(tools.jackson.core.JsonGenerator g,
                                      tools.jackson.databind.SerializationContext provider,
                                      tools.jackson.databind.jsontype.TypeSerializer type) {
            serialize(g, provider);
        }
    }

    /** Attach types that {@code state export} writes (enum bpf_attach_type): BPF_XDP, BPF_TCX_INGRESS/EGRESS. */
    private static final Map<Integer, String> ATTACH_TYPES = Map.of(37, "xdp", 46, "tcx-ingress", 47, "tcx-egress",
            0, "cgroup-ingress", 1, "cgroup-egress", 3, "cgroup-sock_ops");
    /** Link types it writes (enum bpf_link_type). */
    private static final Map<Integer, String> LINK_TYPES = Map.of(LinkInfo.TYPE_XDP, "xdp", LinkInfo.TYPE_TCX, "tcx",
            3, "cgroup", LinkInfo.TYPE_LEGACY_TC, "legacy tc filter");
    /** The kernel's NR_CPUS ceiling: possibleCpus sizes per-CPU values, so a huge one must not be believed. */
    private static final int MAX_CPUS = 8192;

    /**
     * Reads a state file strictly: a missing or ill-typed field, an unknown map, link or attach type is an
     * error naming the field ({@code maps[2].keySize: missing}), never a default, since a plan against a
     * guessed state is a wrong plan that looks right.
     *
     * @throws IllegalArgumentException naming the source and the field
     */
    public static Loaded read(String text, String source) {
        return read(new java.io.StringReader(text), source);
    }

    /**
     * As {@link #read(String, String)}, parsed as it is read: a million-entry file is 100 MB of text, and as one
     * String (and the bytes it was decoded from) it stayed in the old generation until the first full collection,
     * through the whole validation of the policies it is planned against. Does not close {@code in}.
     *
     * @throws java.io.UncheckedIOException when {@code in} cannot be read (or is not UTF-8)
     */
    public static Loaded read(java.io.Reader in, String source) {
        JsonNode root;
        try {
            root = Tree.read(in);
        } catch (tools.jackson.core.exc.JacksonIOException e) {
            throw new java.io.UncheckedIOException(e.getCause());   // the file, not its JSON
        } catch (tools.jackson.core.JacksonException e) {
            // the original message only: the full one may quote the file
            var at = e.getLocation();
            String where = at == null ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr();
            throw new IllegalArgumentException(source + where
                    + ": not JSON: " + clip(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Reader r = new Reader(source);
        if (root == null || !root.isObject()) {
            throw r.error("", "must be a JSON object (a file from 'bpfgit state export')");
        }
        if (!FORMAT.equals(root.path("format").asString(null))) {
            throw new IllegalArgumentException(source + ": not a bpfgit state file (format is not " + FORMAT + ")");
        }
        // absent: version 1, as written before versions were numbered (schema/README.md)
        if (root.has("version") && r.integer(root, "", "version", 1) != VERSION) {
            throw new IllegalArgumentException(source + ": state file version " + root.get("version")
                    + " is not known to this bpfgit, which reads version " + VERSION);
        }
        JsonNode h = r.object(root, "", "host");
        Map<String, String> labels = new TreeMap<>();
        r.object(h, "host", "labels").properties().forEach(e -> labels.put(e.getKey(),
                r.text(h.get("labels"), "host.labels", e.getKey())));
        Map<String, Integer> ifs = new TreeMap<>();
        r.object(h, "host", "interfaces").properties().forEach(e -> ifs.put(e.getKey(),
                r.integer(h.get("interfaces"), "host.interfaces", e.getKey(), 1)));
        int cpus = r.integer(h, "host", "possibleCpus", 1);
        if (cpus > MAX_CPUS) {
            throw r.error("host.possibleCpus", "must be at most " + MAX_CPUS + " (got " + cpus + ")");
        }
        MemoryKernel k = new MemoryKernel(ifs, cpus);
        Path pinRoot = r.path(root, "", "root");
        JsonNode dirs = r.array(root, "", "dirs");
        for (int i = 0; i < dirs.size(); i++) {
            k.restoreDir(r.path(dirs, "dirs", i));
        }
        JsonNode maps = r.array(root, "", "maps");
        for (int i = 0; i < maps.size(); i++) {
            String at = "maps[" + i + "]";
            JsonNode m = r.element(maps, "maps", i);
            int type = r.integer(m, at, "type", 0);
            try {
                MapType.of(type);
            } catch (IllegalArgumentException e) {
                throw r.error(at + ".type", "unknown map type " + type + " (bpfgit manages "
                        + java.util.Arrays.stream(MapType.values()).map(t -> t.id + " " + t.name().toLowerCase())
                        .collect(java.util.stream.Collectors.joining(", ")) + ")");
            }
            MapInfo info = new MapInfo(r.integer(m, at, "id", 1), r.text(m, at, "name"), type,
                    r.integer(m, at, "keySize", 1), r.integer(m, at, "valueSize", 0), r.integer(m, at, "maxEntries", 0),
                    r.integer(m, at, "flags", 0), r.integer(m, at, "btfId", 0));
            Map<Bytes, Bytes> entries = new HashMap<>();
            if (m.get("entries") instanceof tools.jackson.databind.node.POJONode pojo
                    && pojo.getPojo() instanceof Packed packed) {
                entries = packed.entries(r, at, info.keySize());
            } else if (m.has("entries")) {   // absent: a map whose entries bpfgit does not read back
                JsonNode es = r.array(m, at, "entries");
                for (int j = 0; j < es.size(); j++) {
                    String e = at + ".entries[" + j + "]";
                    JsonNode pair = r.element(es, at + ".entries", j);
                    if (!pair.isArray() || pair.size() != 2) {
                        throw r.error(e, "must be a [key, value] pair of hex strings");
                    }
                    Bytes key = r.hex(pair, e, 0), value = r.hex(pair, e, 1);
                    if (key.size() != info.keySize()) {
                        throw r.error(e + "[0]", "key of " + key.size() + " bytes in a map whose keySize is "
                                + info.keySize());
                    }
                    entries.put(key, value);
                }
            }
            k.restoreMap(r.path(m, at, "pin"), info, entries);
        }
        JsonNode progs = r.array(root, "", "programs");
        for (int i = 0; i < progs.size(); i++) {
            String at = "programs[" + i + "]";
            JsonNode p = r.element(progs, "programs", i);
            k.restoreProgram(r.path(p, at, "pin"), new ProgramInfo(r.integer(p, at, "id", 1), r.text(p, at, "name"),
                    r.integer(p, at, "type", 0), r.text(p, at, "tag")));
        }
        JsonNode links = r.array(root, "", "links");
        for (int i = 0; i < links.size(); i++) {
            String at = "links[" + i + "]";
            JsonNode l = r.element(links, "links", i);
            int type = r.known(l, at, "type", LINK_TYPES, "link type");
            int attachType = r.known(l, at, "attachType", ATTACH_TYPES, "attach type");
            k.restoreLink(r.path(l, at, "pin"), new LinkInfo(r.integer(l, at, "id", 1), type,
                    r.integer(l, at, "progId", 1), r.integer(l, at, "ifindex", 0), attachType));
        }
        JsonNode attached = r.array(root, "", "attached");
        for (int i = 0; i < attached.size(); i++) {
            String at = "attached[" + i + "]";
            JsonNode a = r.element(attached, "attached", i);
            String type = r.text(a, at, "type");
            String ifname = type.startsWith("cgroup-") ? "" : r.text(a, at, "interface");
            AttachPoint point = switch (type) {
                case "cgroup-sock_ops", "cgroup-ingress", "cgroup-egress" -> new AttachPoint.Cgroup(
                        r.text(a, at, "cgroup"), AttachPoint.CgroupHook.of(type.substring("cgroup-".length())));
                case "xdp" -> new AttachPoint.Xdp(ifname);
                case "tcx-ingress" -> new AttachPoint.Tcx(ifname, AttachPoint.Direction.INGRESS);
                case "tcx-egress" -> new AttachPoint.Tcx(ifname, AttachPoint.Direction.EGRESS);
                case "legacy-tc-ingress" -> new AttachPoint.LegacyTc(ifname, AttachPoint.Direction.INGRESS);
                case "legacy-tc-egress" -> new AttachPoint.LegacyTc(ifname, AttachPoint.Direction.EGRESS);
                default -> throw r.error(at + ".type", "unknown attach type \"" + clip(type)
                        + "\" (expected xdp, tcx-ingress, tcx-egress, legacy-tc-ingress or legacy-tc-egress)");
            };
            List<AttachedProgram> ps = new ArrayList<>();
            JsonNode programs = r.array(a, at, "programs");
            for (int j = 0; j < programs.size(); j++) {
                String pa = at + ".programs[" + j + "]";
                JsonNode p = r.element(programs, at + ".programs", j);
                // 0: a legacy tc filter that is not a BPF program (u32, flower, matchall...)
                ps.add(new AttachedProgram(r.integer(p, pa, "id", 0), r.text(p, pa, "name")));
            }
            k.restoreAttached(point, ps);
        }
        java.util.Optional<Map<String, Long>> cgroups = java.util.Optional.empty();
        if (h.has("cgroups")) {
            Map<String, Long> cgs = new TreeMap<>();
            r.object(h, "host", "cgroups").properties().forEach(e -> cgs.put(e.getKey(), e.getValue().asLong()));
            cgroups = java.util.Optional.of(cgs);
            k.restoreCgroups(cgs);
        }
        Features features = features(r, h);
        k.restoreFeatures(features);
        return new Loaded(pinRoot, new HostFacts(r.text(h, "host", "name"), labels, ifs, cgroups, features), k);
    }

    /**
     * The kernel's probed features. Absent (an export older than the probes): a current kernel, as plans
     * assumed then. A feature the file does not name as missing (or forced off) is taken as present, so an
     * export from an older bpfgit, which did not probe a newer feature, plans as it did; names this bpfgit
     * does not know (a newer one's) are skipped.
     */
    private static Features features(Reader r, JsonNode h) {
        if (!h.has("features")) {
            return Features.ALL;
        }
        JsonNode f = r.object(h, "host", "features");
        java.util.EnumSet<Feature> present = java.util.EnumSet.allOf(Feature.class);
        java.util.EnumSet<Feature> forced = java.util.EnumSet.noneOf(Feature.class);
        for (String list : List.of("present", "missing", "forced")) {
            JsonNode a = r.array(f, "host.features", list);
            if (list.equals("present")) {
                for (int i = 0; i < a.size(); i++) {
                    r.text(a, "host.features.present", i);
                }
                continue;
            }
            for (int i = 0; i < a.size(); i++) {
                String key = r.text(a, "host.features." + list, i);
                try {
                    Feature x = Feature.ofKey(key);
                    present.remove(x);
                    if (list.equals("forced")) {
                        forced.add(x);
                    }
                } catch (IllegalArgumentException e) {
                    // a feature of a newer bpfgit
                }
            }
        }
        return new Features(r.text(f, "host.features", "kernel"), present, forced);
    }

    private static String clip(String s) {
        if (s == null) {
            return "";
        }
        String one = s.replaceAll("\\p{Cntrl}", "?");
        return one.length() <= 64 ? one : one.substring(0, 64) + "…";
    }

    /** Field access that names what is wrong: {@code host.json: links[0].attachType: missing}. */
    private record Reader(String source) {
        IllegalArgumentException error(String field, String problem) {
            return new IllegalArgumentException(source + ": " + (field.isEmpty() ? "" : field + ": ") + problem);
        }

        private static String join(String at, String field) {
            return at.isEmpty() ? field : at + "." + field;
        }

        private JsonNode need(JsonNode parent, String at, String field) {
            JsonNode v = parent.get(field);
            if (v == null || v.isNull()) {
                throw error(join(at, field), "missing");
            }
            return v;
        }

        JsonNode object(JsonNode parent, String at, String field) {
            JsonNode v = need(parent, at, field);
            if (!v.isObject()) {
                throw error(join(at, field), "must be an object (got " + kind(v) + ")");
            }
            return v;
        }

        JsonNode array(JsonNode parent, String at, String field) {
            JsonNode v = need(parent, at, field);
            if (!v.isArray()) {
                throw error(join(at, field), "must be an array (got " + kind(v) + ")");
            }
            return v;
        }

        JsonNode element(JsonNode array, String at, int i) {
            JsonNode v = array.get(i);
            if (v == null || v.isNull()) {
                throw error(at + "[" + i + "]", "missing");
            }
            if (!v.isObject() && !v.isArray()) {
                throw error(at + "[" + i + "]", "must be an object (got " + kind(v) + ")");
            }
            return v;
        }

        String text(JsonNode parent, String at, String field) {
            JsonNode v = need(parent, at, field);
            if (!v.isString()) {
                throw error(join(at, field), "must be a string (got " + kind(v) + ")");
            }
            return v.asString();
        }

        String text(JsonNode array, String at, int i) {
            JsonNode v = array.get(i);
            if (v == null || !v.isString()) {
                throw error(at + "[" + i + "]", "must be a string (got " + kind(v) + ")");
            }
            return v.asString();
        }

        Path path(JsonNode parent, String at, String field) {
            return path(text(parent, at, field), join(at, field));
        }

        Path path(JsonNode array, String at, int i) {
            JsonNode v = array.get(i);
            if (v == null || !v.isString()) {
                throw error(at + "[" + i + "]", "must be a string (got " + kind(v) + ")");
            }
            return path(v.asString(), at + "[" + i + "]");
        }

        private Path path(String p, String field) {
            if (!p.startsWith("/") || p.indexOf('\0') >= 0) {
                throw error(field, "must be an absolute path (got \"" + clip(p) + "\")");
            }
            return Path.of(p).normalize();
        }

        int integer(JsonNode parent, String at, String field, int min) {
            JsonNode v = need(parent, at, field);
            if (!v.isIntegralNumber() || !v.canConvertToInt()) {
                throw error(join(at, field), "must be an integer (got " + kind(v) + ")");
            }
            if (v.intValue() < min) {
                throw error(join(at, field), "must be at least " + min + " (got " + v.intValue() + ")");
            }
            return v.intValue();
        }

        int known(JsonNode parent, String at, String field, Map<Integer, String> known, String what) {
            int v = integer(parent, at, field, 0);
            if (!known.containsKey(v)) {
                throw error(join(at, field), "unknown " + what + " " + v + " (expected " + new TreeMap<>(known)
                        .entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                        .collect(java.util.stream.Collectors.joining(", ")) + ")");
            }
            return v;
        }

        Bytes hex(JsonNode pair, String at, int i) {
            JsonNode v = pair.get(i);
            if (v == null || !v.isString() || !v.asString().matches("([0-9a-fA-F]{2})*")) {
                throw error(at + "[" + i + "]", "must be a string of hex digit pairs");
            }
            return Bytes.hex(v.asString());
        }

        private static String kind(JsonNode v) {
            if (v == null || v.isNull()) {
                return "null";
            }
            if (v.isString()) {
                return "\"" + clip(v.asString()) + "\"";
            }
            if (v.isObject()) {
                return "an object";
            }
            if (v.isArray()) {
                return "an array";
            }
            return clip(v.toString());
        }
    }
}
