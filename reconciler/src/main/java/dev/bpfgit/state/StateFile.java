package dev.bpfgit.state;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.MapInfo;
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
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** A state file read back. */
    public record Loaded(Path root, HostFacts host, MemoryKernel kernel) {
    }

    private StateFile() {
    }

    public static String write(LiveState live, HostFacts host, int possibleCpus) {
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
            m.entries().ifPresent(es -> {
                ArrayNode a = n.putArray("entries");
                es.entrySet().stream().sorted(Map.Entry.comparingByKey())
                        .forEach(e -> a.addArray().add(e.getKey().toHex()).add(e.getValue().toHex()));
            });
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
            }
            ArrayNode pa = n.putArray("programs");
            ps.forEach(p -> pa.addObject().put("id", p.progId()).put("name", p.name()));
        });
        try {
            return JSON.writeValueAsString(root) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Loaded read(String text, String source) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (IOException e) {
            throw new IllegalArgumentException(source + ": not JSON: " + e.getMessage());
        }
        if (!FORMAT.equals(root.path("format").asText())) {
            throw new IllegalArgumentException(source + ": not a bpfgit state file (format is not " + FORMAT + ")");
        }
        if (root.has("version") && !(root.get("version").isInt() && root.get("version").asInt() == VERSION)) {
            throw new IllegalArgumentException(source + ": state file version " + root.get("version")
                    + " is not known to this bpfgit, which reads version " + VERSION);
        }
        JsonNode h = root.path("host");
        Map<String, String> labels = new TreeMap<>();
        h.path("labels").properties().forEach(e -> labels.put(e.getKey(), e.getValue().asText()));
        Map<String, Integer> ifs = new TreeMap<>();
        h.path("interfaces").properties().forEach(e -> ifs.put(e.getKey(), e.getValue().asInt()));
        MemoryKernel k = new MemoryKernel(ifs, h.path("possibleCpus").asInt(1));
        Path pinRoot = Path.of(root.path("root").asText());
        root.path("dirs").forEach(d -> k.restoreDir(Path.of(d.asText())));
        for (JsonNode m : root.path("maps")) {
            Map<Bytes, Bytes> entries = new HashMap<>();
            m.path("entries").forEach(e -> entries.put(Bytes.hex(e.get(0).asText()), Bytes.hex(e.get(1).asText())));
            k.restoreMap(Path.of(m.path("pin").asText()), new MapInfo(m.path("id").asInt(), m.path("name").asText(),
                    m.path("type").asInt(), m.path("keySize").asInt(), m.path("valueSize").asInt(),
                    m.path("maxEntries").asInt(), m.path("flags").asInt(), m.path("btfId").asInt()), entries);
        }
        for (JsonNode p : root.path("programs")) {
            k.restoreProgram(Path.of(p.path("pin").asText()), new ProgramInfo(p.path("id").asInt(),
                    p.path("name").asText(), p.path("type").asInt(), p.path("tag").asText()));
        }
        for (JsonNode l : root.path("links")) {
            k.restoreLink(Path.of(l.path("pin").asText()), new LinkInfo(l.path("id").asInt(), l.path("type").asInt(),
                    l.path("progId").asInt(), l.path("ifindex").asInt(), l.path("attachType").asInt()));
        }
        for (JsonNode a : root.path("attached")) {
            String ifname = a.path("interface").asText();
            AttachPoint at = switch (a.path("type").asText()) {
                case "xdp" -> new AttachPoint.Xdp(ifname);
                case "tcx-ingress" -> new AttachPoint.Tcx(ifname, AttachPoint.Direction.INGRESS);
                default -> new AttachPoint.Tcx(ifname, AttachPoint.Direction.EGRESS);
            };
            List<AttachedProgram> ps = new ArrayList<>();
            a.path("programs").forEach(p -> ps.add(new AttachedProgram(p.path("id").asInt(), p.path("name").asText())));
            k.restoreAttached(at, ps);
        }
        return new Loaded(pinRoot, new HostFacts(h.path("name").asText(), labels, ifs), k);
    }
}
