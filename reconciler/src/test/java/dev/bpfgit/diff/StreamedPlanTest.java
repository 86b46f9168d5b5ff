package dev.bpfgit.diff;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.compile.Objects;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.render.SavedPlan;
import dev.bpfgit.render.TreePlan;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.Consumer;

import static dev.bpfgit.diff.Fixture.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JSON plan written as it is generated ({@code plan -o json}) and read back as it streams ({@code apply --plan}):
 * byte for byte the text the tree rendering wrote, the same plan back with its entries packed, and the same
 * complaints as the validator on the whole document, on plans small and large with every kind of step.
 */
class StreamedPlanTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Fixture f = new Fixture();

    /** {@code n} prefixes, IPv4 and IPv6 of several lengths, as one {@code prefixes:} list per action. */
    private static Snapshot geo(String revision, int n, int salt, int capacity) {
        List<String> drop = new ArrayList<>();
        List<String> pass = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String p = switch (i % 4) {
                case 0 -> (1 + i / 65536 % 200) + "." + (i / 256 % 256) + "." + (i % 256) + ".0/24";
                case 1 -> "2001:db8:" + Integer.toHexString(i) + "::/48";
                case 2 -> (1 + i / 65536 % 200) + "." + (i / 256 % 256) + "." + (i % 256) + ".7/32";
                default -> "2001:db9:" + Integer.toHexString(i) + ":1::/64";
            };
            ((i + salt) % 3 == 0 ? pass : drop).add(p);
        }
        String yaml = "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata:\n  name: geo\nspec:\n"
                + "  interfaces: [eth0]\n  hook: tc-egress\n  capacity: " + capacity + "\n  rules:\n"
                + "    - {prefixes: [" + String.join(", ", drop) + "], action: drop}\n"
                + "    - {prefixes: [" + String.join(", ", pass) + "], action: pass}\n";
        return snapshot(revision, "policies/geo.yaml", yaml);
    }

    /** Plans with every kind of step, small and large, from the differ; and one made by hand. */
    private List<Plan> plans() {
        List<Plan> plans = new ArrayList<>(f.everyKindOfStep());
        Fixture g = new Fixture();
        Snapshot big = geo("g1", 40_000, 0, 65536);
        plans.add(g.plan(big));                                                     // 40,000 entries into new maps
        g.converge(big);
        plans.add(g.plan(geo("g2", 36_000, 1, 65536)));                             // ~ and - by the thousand
        plans.add(g.plan(geo("g3", 36_000, 1, 131072)));                            // the maps replaced to resize
        plans.add(byHand());
        return plans;
    }

    /** Steps the differ makes rarely or never in one test: an UpdateLink's program id, an early removal's room,
     * plain entry lists with every side, text beyond ASCII, quotes and escapes. */
    private static Plan byHand() {
        Path root = Path.of("/sys/fs/bpf/bpfgit");
        Path map = root.resolve("traffic/eth0/xdp/rules_v4");
        List<EntryChange> puts = List.of(
                new EntryChange(Bytes.hex("20000000c0000200"), Optional.empty(), Optional.of(Bytes.hex("01000000")),
                        "TrafficPolicy/a", "192.0.2.0/32", "drop"),
                new EntryChange(Bytes.hex("18000000c6336400"), Optional.of(Bytes.hex("02")), Optional.of(Bytes.hex("")),
                        "", "198.51.100.0/24", "mark 0x10 (was \"0x20\")\t\u00e9\u4e2d\ud83d\ude00\\"));
        List<EntryChange> deletes = List.of(new EntryChange(Bytes.hex("08000000"), Optional.of(Bytes.hex("ff")),
                Optional.empty(), "TrafficPolicy/b", "10.0.0.0/8", "pass"));
        var prog = new ProgramSpec(Objects.get("traffic.bpf.o"), "xdp_policy", Map.of("rules_v4", map));
        List<Change> steps = List.of(
                new Change.DeleteEntries(map, 4, deletes, "the map is full: removals first"),
                new Change.PutEntries(map, 3, puts),
                new Change.DeleteEntries(map, 5, deletes),
                new Change.LoadProgram(root.resolve("traffic/eth0/xdp/prog"), prog, true, "object changed"),
                new Change.UpdateLink(root.resolve("traffic/eth0/xdp/link"), root.resolve("traffic/eth0/xdp/prog"),
                        Optional.of(42), "new program"),
                new Change.UpdateLink(root.resolve("traffic/eth0/xdp/link2"), root.resolve("traffic/eth0/xdp/prog"),
                        Optional.empty(), "new program"),
                new Change.CreateLink(root.resolve("c/link"), root.resolve("c/prog"),
                        new AttachPoint.Cgroup("/system.slice/x.service", AttachPoint.CgroupHook.of("egress"))),
                new Change.CreateLink(root.resolve("t/link"), root.resolve("t/prog"),
                        new AttachPoint.LegacyTc("eth0", AttachPoint.Direction.INGRESS)),
                new Change.Rename(root.resolve("a_next"), root.resolve("a")),
                new Change.Unpin(root.resolve("old"), Optional.empty(), "directory old"),
                new Change.Unpin(root.resolve("old/map"), Optional.of(PinType.MAP), "map old"));
        return new Plan(root, "dir:abc", "sha256:def", List.of(new UnitPlan(root.resolve("traffic/eth0/xdp"),
                "TrafficPolicy", "eth0, xdp", List.of("TrafficPolicy/a", "TrafficPolicy/b"), steps)),
                Map.of("revision", "dir:abc", "b", "2", "a", "1"), List.of("x", "y"), List.of("a warning \"quoted\""));
    }

    /** What the kinds' runtimes add (SocketTermination's terminations, EgressTimeout's idle ones). */
    private static final Consumer<ObjectNode> EXTRA = root -> {
        ArrayNode t = root.putArray("terminations");
        t.addObject().put("policy", "SocketTermination/x").put("count", 2).putNull("error").putArray("sockets")
                .addObject().put("local", "10.0.0.1").put("localPort", 80);
        root.putArray("idleTerminations").addObject().put("unit", "egress/x").put("count", 0);
    };

    @Test
    void theStreamedTextIsTheTreeRenderingByteForByte() {
        int entries = 0;
        for (Plan p : plans()) {
            for (Consumer<ObjectNode> extra : List.<Consumer<ObjectNode>>of(root -> { }, EXTRA)) {
                String tree = TreePlan.render(p, extra);
                assertEquals(tree, PlanJson.render(p, extra));
                StringWriter out = new StringWriter();
                out.write("before\n");
                PlanJson.write(p, extra, out);
                assertEquals("before\n" + tree, out.toString(), "written to a Writer, which stays open");
            }
            entries += p.summary().added() + p.summary().changed() + p.summary().removed();
        }
        assertTrue(entries > 100_000, entries + " entries");
    }

    @Test
    void aPlanReadAsItStreamsIsThePlanWrittenWithItsEntriesPacked() throws Exception {
        int packed = 0;
        for (Plan p : plans()) {
            String text = PlanJson.render(p);
            SavedPlan saved = SavedPlan.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)));
            assertEquals(List.of(), saved.errors());
            Plan back = saved.plan();
            assertEquals(p, back);
            assertEquals(text, PlanJson.render(back));
            assertEquals(PlanText.render(p), PlanText.render(back));
            assertEquals(p.summary(), back.summary());
            for (UnitPlan u : back.units()) {
                for (Change c : u.changes()) {
                    if (c instanceof Change.PutEntries e) {
                        assertInstanceOf(SavedEntryChanges.class, e.changes());
                        packed += e.changes().size();
                    } else if (c instanceof Change.DeleteEntries e) {
                        assertInstanceOf(SavedEntryChanges.class, e.changes());
                        packed += e.changes().size();
                    }
                }
            }
            // the tree keeps no entry: they are only in the packed lists
            saved.tree().path("units").forEach(u -> u.path("changes").forEach(c ->
                    assertTrue(c.path("entries").isEmpty(), c.toString())));
        }
        assertTrue(packed > 100_000, packed + " entries packed");
    }

    @Test
    void theComplaintsAreTheValidatorsOnTheWholeDocument() throws Exception {
        Random random = new Random(12);
        Plan small = byHand();
        Plan large = f.plan(geo("g1", 6000, 0, 65536));
        int broken = 0;
        for (int round = 0; round < 400; round++) {
            ObjectNode doc = (ObjectNode) JSON.readTree(PlanJson.render(round % 4 == 0 ? large : small));
            List<ObjectNode> entries = new ArrayList<>();
            doc.path("units").forEach(u -> u.path("changes").forEach(c -> c.path("entries")
                    .forEach(e -> entries.add((ObjectNode) e))));
            int mutations = 1 + random.nextInt(3);
            for (int m = 0; m < mutations; m++) {
                if (random.nextInt(8) == 0) {
                    // elsewhere than the entries too: both sides must still be reported
                    ((ObjectNode) doc.at("/units/0/changes/0")).put("pin", 7);
                } else {
                    dev.bpfgit.render.PlanEntryCheckTest.breakEntry(entries.get(random.nextInt(entries.size())), random);
                }
            }
            String text = JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc);
            List<String> whole = TreePlan.errors(text);
            List<String> streamed = SavedPlan.read(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)))
                    .errors().stream().map(l -> l.replaceAll(" \\(line \\d+\\)$", "")).toList();
            assertEquals(whole, streamed, text.length() < 4000 ? text : "round " + round);
            broken += whole.isEmpty() ? 0 : 1;
        }
        assertTrue(broken > 300, broken + " of 400 rounds broken");
    }

    @Test
    void anEntryComplaintNamesItsLineAndAPlanWithOneIsNotRead() throws Exception {
        String text = PlanJson.render(byHand());
        String bad = text.replace("\"rawKey\" : \"08000000\"", "\"rawKey\" : \"08zz\"");
        int line = (int) bad.substring(0, bad.indexOf("08zz")).chars().filter(c -> c == '\n').count();
        SavedPlan saved = SavedPlan.read(new ByteArrayInputStream(bad.getBytes(StandardCharsets.UTF_8)));
        List<String> errors = saved.errors();
        // the same entry is in two steps; the object's opening brace is a few lines above the field
        assertEquals(2, errors.size(), errors.toString());
        assertTrue(errors.getFirst().startsWith("/units/0/changes/0/entries/0/rawKey: "), errors.toString());
        int said = Integer.parseInt(errors.getFirst().replaceAll(".* \\(line (\\d+)\\)$", "$1"));
        assertTrue(said <= line && said > line - 6, said + " vs " + line);
        assertThrows(IllegalArgumentException.class, saved::plan);
        IllegalArgumentException notJson = assertThrows(IllegalArgumentException.class, () -> SavedPlan.read(
                new ByteArrayInputStream("{\n \"format\": ".getBytes(StandardCharsets.UTF_8))));
        assertTrue(notJson.getMessage().contains("line 2"), notJson.getMessage());
    }
}
