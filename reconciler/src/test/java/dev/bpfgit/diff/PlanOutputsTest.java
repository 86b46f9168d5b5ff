package dev.bpfgit.diff;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.render.Fleet;
import dev.bpfgit.render.FleetJson;
import dev.bpfgit.render.FleetText;
import dev.bpfgit.render.OutputSchema;
import dev.bpfgit.render.PlanJson;
import dev.bpfgit.render.PlanMarkdown;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.bpfgit.diff.Fixture.edge;
import static dev.bpfgit.diff.Fixture.policy;
import static dev.bpfgit.diff.Fixture.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The JSON plan against its schema and its version, the pull-request markdown, and the fleet renderers. */
class PlanOutputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Fixture f = new Fixture();

    private static String[] rules(int n, String action) {
        String[] r = new String[n];
        for (int i = 0; i < n; i++) {
            r[i] = "{prefix: 10." + (i / 256) + "." + (i % 256) + ".0/24, action: " + action + "}";
        }
        return r;
    }

    @Test
    void everyKindOfStepValidatesAgainstTheSchema() {
        List<String> ops = new ArrayList<>();
        for (Plan p : f.everyKindOfStep()) {
            JsonNode n = OutputSchema.assertValid(PlanJson.render(p));
            assertEquals(1, n.get("version").asInt());
            n.at("/units").forEach(u -> u.get("changes").forEach(c -> ops.add(c.get("op").asString())));
        }
        assertTrue(ops.containsAll(List.of("CreateMap", "PutEntries", "DeleteEntries", "LoadProgram", "CreateLink",
                "ReplaceMap", "UpdateLink", "Unpin")), ops.toString());
    }

    @Test
    void theSchemaRefusesWhatIsNotAPlan() throws Exception {
        ObjectNode n = (ObjectNode) JSON.readTree(PlanJson.render(f.plan(edge("r1", "{prefix: 192.0.2.0/24, action: drop}"))));
        n.put("version", 2);
        assertFalse(OutputSchema.errors(n).isEmpty());
        n.put("version", 1);
        ((ObjectNode) n.at("/units/0/changes/0")).put("op", "Explode");
        assertFalse(OutputSchema.errors(n).isEmpty());
    }

    @Test
    void applyReadsVersionOneAndRefusesAnyOtherVersionOrAFleetPlan() throws Exception {
        Plan p = f.plan(edge("r1", "{prefix: 192.0.2.0/24, action: drop}"));
        ObjectNode n = (ObjectNode) JSON.readTree(PlanJson.render(p));
        assertEquals(PlanJson.render(p), PlanJson.render(PlanJson.parse(n.toString())));

        n.remove("version");   // written before the field existed: format bpfgit.dev/plan/v1 says version 1
        assertEquals(PlanJson.render(p), PlanJson.render(PlanJson.parse(n.toString())));

        n.put("version", 2);
        IllegalArgumentException v2 = assertThrows(IllegalArgumentException.class, () -> PlanJson.parse(n.toString()));
        assertTrue(v2.getMessage().startsWith("plan format version 2 (bpfgit.dev/plan/v1) is not known to this"
                + " bpfgit, which reads version 1"), v2.getMessage());

        n.remove("version");
        n.put("format", "bpfgit.dev/plan/v2");
        IllegalArgumentException f2 = assertThrows(IllegalArgumentException.class, () -> PlanJson.parse(n.toString()));
        assertTrue(f2.getMessage().startsWith("plan format version 2 (bpfgit.dev/plan/v2)"), f2.getMessage());

        n.put("format", "bpfgit.dev/plan/v1");
        n.put("version", "1");
        assertThrows(IllegalArgumentException.class, () -> PlanJson.parse(n.toString()));

        String fleet = FleetJson.render(new Fleet("r1", List.of(Fleet.Host.planned("edge-1", Map.of(), "empty", p))));
        IllegalArgumentException many = assertThrows(IllegalArgumentException.class, () -> PlanJson.parse(fleet));
        assertTrue(many.getMessage().contains("plan of several hosts"), many.getMessage());
    }

    @Test
    void markdownWithNoChangeIsOneLine() {
        Snapshot s = edge("r1", "{prefix: 192.0.2.0/24, action: drop}");
        f.converge(s);
        assertEquals("bpfgit plan for revision `r1`: no changes, the host is in sync.\n",
                PlanMarkdown.render(f.plan(s)));
        Fleet fleet = new Fleet("r1", List.of(Fleet.Host.planned("a", Map.of(), "empty", f.plan(s)),
                Fleet.Host.planned("b", Map.of(), "empty", f.plan(s))));
        assertEquals("bpfgit plan for revision `r1`: no changes on 2 hosts, all in sync.\n", PlanMarkdown.render(fleet));
    }

    @Test
    void markdownPutsTheSummaryFirstAndFoldsALongPolicy() {
        Snapshot s = snapshot("r1",
                "a.yaml", policy("short", "eth0", "xdp", "{prefix: 192.0.2.0/24, action: drop}"),
                "b.yaml", policy("long", "eth1", "xdp", rules(40, "drop")));
        String md = PlanMarkdown.render(f.plan(s));
        List<String> lines = md.lines().toList();
        assertEquals("### bpfgit plan for revision `r1`", lines.get(0));
        assertEquals("**Plan: 10 to create, 0 to change, 0 to remove; entries +43 ~0 -0.**", lines.get(2));
        int shortAt = lines.indexOf("TrafficPolicy/short (eth0, xdp)");
        assertEquals("```diff", lines.get(shortAt - 1), "a short policy is shown open");
        assertFalse(lines.get(shortAt - 3).startsWith("<details>"), md);
        int longAt = lines.indexOf("TrafficPolicy/long (eth1, xdp)");
        assertEquals("<details><summary><code>TrafficPolicy/long (eth1, xdp)</code>: entries +41 ~0 -0, 46 lines"
                + "</summary>", lines.get(longAt - 3), md);
        assertEquals("</details>", lines.get(lines.indexOf("</details>")));
        assertTrue(lines.indexOf("</details>") > longAt + 47);
    }

    @Test
    void markdownOfAHugePlanStaysUnderTheCommentLimitAndSaysItWasCut() {
        String md = PlanMarkdown.render(f.plan(edge("r1", rules(4000, "drop"))));
        assertTrue(md.length() <= PlanMarkdown.BUDGET && PlanMarkdown.BUDGET < PlanMarkdown.GITHUB_LIMIT,
                String.valueOf(md.length()));
        assertTrue(md.length() > PlanMarkdown.BUDGET - 2000, "fills the comment: " + md.length());
        Matcher note = Pattern.compile("\n\n> \\*\\*Truncated:\\*\\* this plan is (\\d+) characters, more than a"
                + " comment holds \\(65536\\); its last (\\d+) lines are not shown\\.").matcher(md);
        assertTrue(note.find(), md.substring(md.length() - 400));
        assertTrue(Integer.parseInt(note.group(1)) > PlanMarkdown.GITHUB_LIMIT);
        assertTrue(Integer.parseInt(note.group(2)) > 1000);
        long fences = md.lines().filter(l -> l.startsWith("```")).count();
        assertEquals(0, fences % 2, "every fence is closed");
        assertEquals(md.lines().filter(l -> l.startsWith("<details>")).count(),
                md.lines().filter(l -> l.startsWith("</details>")).count(), "every details is closed");
    }

    @Test
    void aLargeFleetGetsARowPerGroupSoTheChangesStillFit() {
        Plan changes = f.plan(edge("r1", "{prefix: 192.0.2.0/24, action: drop}"));
        List<Fleet.Host> hosts = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            hosts.add(Fleet.Host.planned("edge-" + i, Map.of("role", "edge"), "revision main", changes));
        }
        String md = PlanMarkdown.render(new Fleet("r1", hosts));
        assertFalse(md.contains("Truncated"), md);
        assertTrue(md.contains("| hosts | against | create | change | remove | entries | exit |\n|---|---|--:|--:|--:|---|--:|\n"
                + "| edge-0, edge-1, edge-2, edge-3, edge-4 and 2995 more (3000 hosts) | `revision main` | 5 | 0 | 0 |"
                + " +2 ~0 -0 | 1 |\n\n#### edge-0, edge-1, edge-2, edge-3, edge-4 and 2995 more (3000 hosts)\n"), md);
        assertTrue(md.contains("+     + 192.0.2.0/24  drop\n"), md);
    }

    @Test
    void hostsWithTheSamePlanShareASectionAndTheWorstExitCodeWins() {
        Plan changes = f.plan(edge("r1", "{prefix: 192.0.2.0/24, action: drop}"));
        Fixture other = new Fixture();
        Plan more = other.plan(edge("r1", "{prefix: 192.0.2.0/24, action: drop}", "{prefix: 198.51.100.0/24, action: drop}"));
        Fleet fleet = new Fleet("r1", List.of(
                Fleet.Host.planned("edge-1", Map.of("role", "edge"), "empty", changes),
                Fleet.Host.planned("edge-2", Map.of("role", "edge"), "empty", changes),
                Fleet.Host.planned("edge-3", Map.of("role", "edge"), "empty", more),
                Fleet.Host.failed("db-1", Map.of(), "state db-1.json", Fleet.INVALID, "db-1.json: no such file"),
                Fleet.Host.failed("db-2", Map.of(), "state db-2.json", Fleet.ERROR, "foreign program")));
        assertEquals(List.of(List.of("edge-1", "edge-2"), List.of("edge-3"), List.of("db-1"), List.of("db-2")),
                fleet.groups().stream().map(Fleet.Group::names).toList());
        assertEquals(3, fleet.exitCode());
        String text = FleetText.render(fleet);
        assertTrue(text.startsWith("=== edge-1, edge-2 ===\nTrafficPolicy/edge-filter (eth0, xdp)\n"), text);
        assertTrue(text.contains("\n=== db-1 ===\nerror: db-1.json: no such file\n"), text);
        assertTrue(text.endsWith("Fleet: 5 hosts: 0 in sync, 3 with changes, 1 invalid, 1 failed; exit 3.\n"), text);
        JsonNode json = OutputSchema.assertValid(FleetJson.render(fleet));
        assertEquals(3, json.get("exitCode").asInt());
        assertEquals(0, json.at("/hosts/1/group").asInt());
        assertEquals(1, json.at("/hosts/2/group").asInt());
        assertEquals("db-1.json: no such file", json.at("/groups/2/error").asString());
        String md = PlanMarkdown.render(fleet);
        assertTrue(md.contains("| db-2 | `state db-2.json` | - | - | - | - | 3 |\n"), md);
    }
}
