package dev.bpfgit.render;

import tools.jackson.core.JsonGenerator;
import tools.jackson.core.StreamWriteFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.Objects;
import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.EntryChange;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.SavedEntryChanges;
import dev.bpfgit.diff.Summary;
import dev.bpfgit.diff.UnitPlan;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramSpec;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The plan as JSON: for machines (CI, dashboards) and for {@code apply --plan FILE}, which reads it back
 * and executes exactly these steps. Keys and values are hex; object files are named with their SHA-256
 * and must match the ones this bpfgit ships.
 */
public final class PlanJson {
    public static final String FORMAT = "bpfgit.dev/plan/v1";
    /**
     * The version of this format that {@code apply --plan} checks (schema/plan.schema.json). {@code format}
     * names the kind of document and keeps its {@code /v1} for the files written before this field existed;
     * a reader refuses any version it does not know instead of guessing at its steps.
     */
    public static final int VERSION = 1;
    static final String FORMAT_PREFIX = "bpfgit.dev/plan/v";
    private static final ObjectMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private PlanJson() {
    }

    public static String render(Plan plan) {
        return render(plan, root -> {
        });
    }

    /** With what the kinds' runtimes add to the root (e.g. SocketTermination's {@code terminations}). */
    public static String render(Plan plan, Consumer<ObjectNode> extra) {
        StringWriter out = new StringWriter();
        write(plan, extra, out);
        return out.toString();
    }

    /**
     * {@link #render} written to {@code out} as it is generated, byte for byte the same text: a new map's plan has
     * a million entries, and as a tree (a node per field) and then one String it took gigabytes. Only what the
     * runtimes add, small, is a tree. Does not close {@code out}.
     */
    public static void write(Plan plan, Consumer<ObjectNode> extra, Writer out) {
        ObjectNode added = JSON.createObjectNode();
        extra.accept(added);
        try (JsonGenerator g = JSON.writer().without(StreamWriteFeature.AUTO_CLOSE_TARGET).createGenerator(out)) {
            g.writeStartObject();
            g.writeStringProperty("format", FORMAT);
            g.writeNumberProperty("version", VERSION);
            g.writeStringProperty("root", plan.root().toString());
            g.writeStringProperty("revision", plan.revision());
            g.writeStringProperty("basis", plan.basis());
            g.writeBooleanProperty("inSync", plan.inSync());
            Summary s = plan.summary();
            g.writeObjectPropertyStart("summary");
            g.writeNumberProperty("create", s.create());
            g.writeNumberProperty("change", s.change());
            g.writeNumberProperty("remove", s.remove());
            g.writeNumberProperty("entriesAdded", s.added());
            g.writeNumberProperty("entriesChanged", s.changed());
            g.writeNumberProperty("entriesRemoved", s.removed());
            g.writeEndObject();
            strings(g, "warnings", plan.warnings());
            g.writeArrayPropertyStart("units");
            for (UnitPlan u : plan.units()) {
                g.writeStartObject();
                g.writeStringProperty("dir", u.dir().toString());
                g.writeStringProperty("kind", u.kind());
                g.writeStringProperty("label", u.label());
                strings(g, "policies", u.policies());
                g.writeArrayPropertyStart("changes");
                for (Change c : u.changes()) {
                    if (c instanceof Change.PutEntries || c instanceof Change.DeleteEntries) {
                        entrySteps(g, c);
                    } else {
                        // a step without entries is small: the tree keeps one way of writing it
                        ObjectNode n = JSON.createObjectNode();
                        change(n, c);
                        g.writeTree(n);
                    }
                }
                g.writeEndArray();
                if (!u.held().isEmpty()) {
                    g.writeObjectPropertyStart("held");
                    for (Map.Entry<String, Integer> h : held(u).entrySet()) {
                        g.writeNumberProperty(h.getKey(), h.getValue());
                    }
                    g.writeEndObject();
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeObjectPropertyStart("meta");
            for (Map.Entry<String, String> m : new TreeMap<>(plan.meta()).entrySet()) {
                g.writeStringProperty(m.getKey(), m.getValue());
            }
            g.writeEndObject();
            strings(g, "metaDeletes", plan.metaDeletes());
            for (Map.Entry<String, JsonNode> e : added.properties()) {
                g.writeName(e.getKey());
                g.writeTree(e.getValue());
            }
            g.writeEndObject();
            g.flush();
            out.write("\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void strings(JsonGenerator g, String field, List<String> values) throws IOException {
        g.writeArrayPropertyStart(field);
        for (String v : values) {
            g.writeString(v);
        }
        g.writeEndArray();
    }

    /** A PutEntries or DeleteEntries step, in the order of {@link #change}, one entry at a time. */
    private static void entrySteps(JsonGenerator g, Change c) throws IOException {
        g.writeStartObject();
        g.writeStringProperty("op", c.getClass().getSimpleName());
        g.writeStringProperty("pin", c.pin().toString());
        int before = c instanceof Change.PutEntries p ? p.before() : ((Change.DeleteEntries) c).before();
        List<EntryChange> changes = c instanceof Change.PutEntries p ? p.changes() : ((Change.DeleteEntries) c).changes();
        g.writeNumberProperty("before", before);
        g.writeArrayPropertyStart("entries");
        for (int i = 0; i < changes.size(); i++) {
            EntryChange e = changes.get(i);
            g.writeStartObject();
            g.writeStringProperty("change", String.valueOf(e.symbol()));
            g.writeStringProperty("owner", e.owner());
            g.writeStringProperty("key", e.key());
            g.writeStringProperty("text", e.text());
            g.writeStringProperty("rawKey", e.rawKey().toHex());
            if (e.before().isPresent()) {
                g.writeStringProperty("rawBefore", e.before().get().toHex());
            }
            if (e.after().isPresent()) {
                g.writeStringProperty("rawAfter", e.after().get().toHex());
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        if (c instanceof Change.DeleteEntries d && d.early()) {
            g.writeStringProperty("room", d.room());
        }
        g.writeEndObject();
    }

    static String write(ObjectNode root) {
        return JSON.writeValueAsString(root) + "\n";
    }

    static ObjectNode tree(Plan plan) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("root", plan.root().toString());
        root.put("revision", plan.revision());
        root.put("basis", plan.basis());
        root.put("inSync", plan.inSync());
        Summary s = plan.summary();
        ObjectNode sum = root.putObject("summary");
        sum.put("create", s.create()).put("change", s.change()).put("remove", s.remove())
                .put("entriesAdded", s.added()).put("entriesChanged", s.changed()).put("entriesRemoved", s.removed());
        ArrayNode warnings = root.putArray("warnings");
        plan.warnings().forEach(warnings::add);
        ArrayNode units = root.putArray("units");
        for (UnitPlan u : plan.units()) {
            ObjectNode un = units.addObject();
            un.put("dir", u.dir().toString()).put("kind", u.kind()).put("label", u.label());
            ArrayNode pols = un.putArray("policies");
            u.policies().forEach(pols::add);
            ArrayNode changes = un.putArray("changes");
            u.changes().forEach(c -> change(changes.addObject(), c));
            if (!u.held().isEmpty()) {
                held(u).forEach(un.putObject("held")::put);
            }
        }
        ObjectNode meta = root.putObject("meta");
        new TreeMap<>(plan.meta()).forEach(meta::put);
        ArrayNode md = root.putArray("metaDeletes");
        plan.metaDeletes().forEach(md::add);
        return root;
    }

    /** The unit's {@code held} counts by pin, in pin order so that a plan's text is stable. */
    private static Map<String, Integer> held(UnitPlan u) {
        Map<String, Integer> out = new TreeMap<>();
        u.held().forEach((pin, n) -> out.put(pin.toString(), n));
        return out;
    }

    private static void change(ObjectNode n, Change c) {
        n.put("op", c.getClass().getSimpleName());
        n.put("pin", c.pin().toString());
        switch (c) {
            case Change.CreateMap m -> spec(n.putObject("spec"), m.spec());
            case Change.ReplaceMap m -> {
                n.put("staging", m.staging().toString());
                spec(n.putObject("spec"), m.spec());
                ArrayNode r = n.putArray("reasons");
                m.reasons().forEach(r::add);
            }
            case Change.PutEntries e -> entries(n, e.before(), e.changes());
            case Change.DeleteEntries e -> {
                entries(n, e.before(), e.changes());
                if (e.early()) {
                    n.put("room", e.room());
                }
            }
            case Change.LoadProgram p -> {
                n.put("replace", p.replace()).put("reason", p.reason());
                ObjectNode s = n.putObject("program");
                object(s, p.spec().object());
                s.put("name", p.spec().program());
                ObjectNode maps = s.putObject("maps");
                new TreeMap<>(p.spec().maps()).forEach((k, v) -> maps.put(k, v.toString()));
            }
            case Change.CreateLink l -> {
                n.put("program", l.program().toString());
                at(n.putObject("at"), l.at());
            }
            case Change.UpdateLink l -> {
                n.put("program", l.program().toString()).put("reason", l.reason());
                l.expectedProgId().ifPresent(id -> n.put("expectedProgId", id));
            }
            case Change.Rename r -> n.put("to", r.to().toString());
            case Change.Unpin p -> {
                p.type().ifPresent(t -> n.put("type", t.name()));
                n.put("detail", p.detail());
            }
        }
    }

    private static void entries(ObjectNode n, int before, List<EntryChange> changes) {
        n.put("before", before);
        ArrayNode a = n.putArray("entries");
        for (EntryChange e : changes) {
            ObjectNode en = a.addObject();
            en.put("change", String.valueOf(e.symbol())).put("owner", e.owner()).put("key", e.key())
                    .put("text", e.text()).put("rawKey", e.rawKey().toHex());
            e.before().ifPresent(b -> en.put("rawBefore", b.toHex()));
            e.after().ifPresent(b -> en.put("rawAfter", b.toHex()));
        }
    }

    private static void spec(ObjectNode n, MapSpec s) {
        n.put("name", s.name()).put("type", s.type().name()).put("keySize", s.keySize())
                .put("valueSize", s.valueSize()).put("maxEntries", s.maxEntries()).put("flags", s.flags());
        s.btf().ifPresent(b -> {
            ObjectNode bn = n.putObject("btf");
            object(bn, b.object());
            bn.put("keyType", b.keyType()).put("valueType", b.valueType());
        });
    }

    private static void object(ObjectNode n, ObjectFile o) {
        n.put("object", o.name()).put("sha256", o.sha256());
    }

    private static void at(ObjectNode n, AttachPoint at) {
        switch (at) {
            case AttachPoint.Xdp x -> n.put("type", "xdp").put("interface", x.ifname());
            case AttachPoint.LegacyTc t -> n.put("type", "legacy-tc-" + t.direction().name().toLowerCase())
                    .put("interface", t.ifname());
            case AttachPoint.Tcx t -> n.put("type", "tcx-" + t.direction().name().toLowerCase())
                    .put("interface", t.ifname());
            case AttachPoint.Cgroup c -> n.put("type", "cgroup-" + c.hook().label).put("cgroup", c.path());
        }
    }

    // ---- reading back

    /** Reads a plan written by {@link #render}; refuses other formats and other builds' BPF objects. */
    public static Plan parse(String text) {
        try {
            return SavedPlan.read(new StringReader(text)).plan();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The plan {@code saved} holds, its entry steps as packed as they were read. */
    static Plan parse(SavedPlan saved) {
        JsonNode root = saved.tree();
        checkVersion(root);
        if (saved.entriesRefused()) {
            throw new IllegalArgumentException(saved.firstEntryComplaint());
        }
        List<UnitPlan> units = new ArrayList<>();
        for (JsonNode u : root.path("units")) {
            List<String> pols = new ArrayList<>();
            u.path("policies").forEach(p -> pols.add(p.asString()));
            List<Change> changes = new ArrayList<>();
            u.path("changes").forEach(c -> changes.add(change(c, saved)));
            Map<Path, Integer> held = new java.util.HashMap<>();
            u.path("held").properties().forEach(h -> held.put(Path.of(h.getKey()), h.getValue().asInt()));
            units.add(new UnitPlan(Path.of(u.path("dir").asString()), u.path("kind").asString(),
                    u.path("label").asString(), pols, changes, held));
        }
        Map<String, String> meta = new TreeMap<>();
        root.path("meta").properties().forEach(e -> meta.put(e.getKey(), e.getValue().asString()));
        List<String> metaDeletes = new ArrayList<>();
        root.path("metaDeletes").forEach(m -> metaDeletes.add(m.asString()));
        List<String> warnings = new ArrayList<>();
        root.path("warnings").forEach(w -> warnings.add(w.asString()));
        return new Plan(Path.of(root.path("root").asString()), root.path("revision").asString(),
                root.path("basis").asString(), units, meta, metaDeletes, warnings);
    }

    /** Refuses what this build cannot read exactly: another kind of document, or a version it does not know. */
    private static void checkVersion(JsonNode root) {
        String format = root.path("format").asString();
        if (format.equals(FleetJson.FORMAT)) {
            throw new IllegalArgumentException("this is the plan of several hosts (plan --hosts), which cannot be"
                    + " applied; on the host, save its own plan with 'bpfgit plan PATH -o json'");
        }
        if (!format.startsWith(FORMAT_PREFIX)) {
            throw new IllegalArgumentException("not a bpfgit plan (format is not " + FORMAT + ")");
        }
        String version = root.has("version") ? root.get("version").asString() : format.substring(FORMAT_PREFIX.length());
        if (!format.equals(FORMAT) || !version.equals(String.valueOf(VERSION))
                || (root.has("version") && !root.get("version").isInt())) {
            throw new IllegalArgumentException("plan format version " + version + " (" + format + ") is not known"
                    + " to this bpfgit, which reads version " + VERSION + ": make the plan with the same bpfgit"
                    + " release that applies it");
        }
    }

    private static Change change(JsonNode n, SavedPlan saved) {
        Path pin = Path.of(n.path("pin").asString());
        String op = n.path("op").asString();
        return switch (op) {
            case "CreateMap" -> new Change.CreateMap(pin, spec(n.path("spec")));
            case "ReplaceMap" -> {
                List<String> reasons = new ArrayList<>();
                n.path("reasons").forEach(r -> reasons.add(r.asString()));
                yield new Change.ReplaceMap(pin, Path.of(n.path("staging").asString()), spec(n.path("spec")), reasons);
            }
            case "PutEntries" -> new Change.PutEntries(pin, n.path("before").asInt(), entries(n, saved));
            case "DeleteEntries" -> new Change.DeleteEntries(pin, n.path("before").asInt(), entries(n, saved),
                    n.path("room").asString(""));
            case "LoadProgram" -> {
                JsonNode p = n.path("program");
                Map<String, Path> maps = new TreeMap<>();
                p.path("maps").properties().forEach(e -> maps.put(e.getKey(), Path.of(e.getValue().asString())));
                yield new Change.LoadProgram(pin, new ProgramSpec(object(p), p.path("name").asString(), maps),
                        n.path("replace").asBoolean(), n.path("reason").asString());
            }
            case "CreateLink" -> new Change.CreateLink(pin, Path.of(n.path("program").asString()), at(n.path("at")));
            case "UpdateLink" -> new Change.UpdateLink(pin, Path.of(n.path("program").asString()),
                    n.has("expectedProgId") ? Optional.of(n.path("expectedProgId").asInt()) : Optional.empty(),
                    n.path("reason").asString());
            case "Rename" -> new Change.Rename(pin, Path.of(n.path("to").asString()));
            case "Unpin" -> new Change.Unpin(pin, n.has("type")
                    ? Optional.of(PinType.valueOf(n.path("type").asString())) : Optional.empty(),
                    n.path("detail").asString());
            default -> throw new IllegalArgumentException("unknown plan step " + op);
        };
    }

    private static List<EntryChange> entries(JsonNode n, SavedPlan saved) {
        SavedEntryChanges packed = saved.entries(n);
        return packed != null ? packed : List.of();
    }

    private static MapSpec spec(JsonNode n) {
        Optional<BtfTypes> btf = n.has("btf") ? Optional.of(new BtfTypes(object(n.path("btf")),
                n.path("btf").path("keyType").asString(), n.path("btf").path("valueType").asString())) : Optional.empty();
        return new MapSpec(n.path("name").asString(), MapType.valueOf(n.path("type").asString()),
                n.path("keySize").asInt(), n.path("valueSize").asInt(), n.path("maxEntries").asInt(),
                n.path("flags").asInt(), btf);
    }

    private static ObjectFile object(JsonNode n) {
        ObjectFile o = Objects.get(n.path("object").asString());
        if (!o.sha256().equals(n.path("sha256").asString())) {
            throw new IllegalArgumentException("the plan was made with another build of " + o.name()
                    + " (sha256 " + n.path("sha256").asString() + ", this bpfgit has " + o.sha256() + "): plan again");
        }
        return o;
    }

    private static AttachPoint at(JsonNode n) {
        String type = n.path("type").asString();
        String ifname = n.path("interface").asString();
        return switch (type) {
            case "xdp" -> new AttachPoint.Xdp(ifname);
            case "tcx-ingress" -> new AttachPoint.Tcx(ifname, AttachPoint.Direction.INGRESS);
            case "tcx-egress" -> new AttachPoint.Tcx(ifname, AttachPoint.Direction.EGRESS);
            case "cgroup-sock_ops", "cgroup-ingress", "cgroup-egress" -> new AttachPoint.Cgroup(
                    n.path("cgroup").asString(), AttachPoint.CgroupHook.of(type.substring("cgroup-".length())));
            case "legacy-tc-ingress" -> new AttachPoint.LegacyTc(ifname, AttachPoint.Direction.INGRESS);
            case "legacy-tc-egress" -> new AttachPoint.LegacyTc(ifname, AttachPoint.Direction.EGRESS);
            default -> throw new IllegalArgumentException("unknown attach point " + type);
        };
    }
}
