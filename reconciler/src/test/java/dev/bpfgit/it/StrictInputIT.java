package dev.bpfgit.it;

import tools.jackson.databind.node.ObjectNode;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Input other than policies read strictly, as the packaged tool: a bpfgit.yaml with an unknown setting or a
 * value of the wrong type (schema/config.schema.json), and a saved plan that does not follow
 * schema/plan.schema.json. Each is refused naming the file and the field, with the exit code of design §4,
 * and changes nothing on the host.
 */
@KernelTest
class StrictInputIT {
    private static final String POLICY = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void aMisspeltOrMistypedSettingIsAnErrorWithFileLineAndField(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        Path cfg = dir.resolve("bpfgit.yaml");
        Files.writeString(cfg, "root: " + dir.resolve("pins") + "\nsource:\n  path: " + policies
                + "\nreconcile:\n  intervall: 30s\n  jitter: lots\n");
        // a verb given --config: invalid input (2), every mistake
        Bpfgit.Cli plan = Bpfgit.cli(null, "plan", policies.toString(), "--config", cfg.toString());
        assertEquals(2, plan.exit(), plan.toString());
        assertTrue(plan.err().contains(cfg + ":5:14: error: reconcile.intervall: unknown field (did you mean"
                + " \"interval\"?)"), plan.err());
        assertTrue(plan.err().contains(cfg + ":6:11: error: reconcile.jitter: must be a number"), plan.err());
        assertTrue(plan.err().contains("2 errors; nothing was changed."), plan.err());
        // a verb whose exit codes are 0 and 3 (design §4): an error (3), the same words
        Bpfgit.Cli status = Bpfgit.cli(null, "status", "--config", cfg.toString());
        assertEquals(3, status.exit(), status.toString());
        assertTrue(status.err().contains(cfg + ":5:14: error: reconcile.intervall: "), status.err());
        // the sidecar: a fatal error (3), before it makes the pin root or opens the source
        Bpfgit.Cli run = Bpfgit.cli(null, "run", "--config", cfg.toString());
        assertEquals(3, run.exit(), run.toString());
        assertTrue(run.err().contains(cfg + ":5:14: reconcile.intervall: unknown field (did you mean \"interval\"?)"),
                run.err());
        assertTrue(Files.notExists(dir.resolve("pins")), "nothing made");
    }

    @Test
    void aSavedPlanThatDoesNotFollowTheSchemaIsRefusedNamingTheFieldAndChangesNothing(@TempDir Path dir)
            throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Bpfgit.Cli plan = edge.cli("plan", policies.toString(), "-o", "json");
            assertEquals(1, plan.exit(), plan.toString());
            List<String> before = edge.pins();

            ObjectNode tampered = (ObjectNode) Bpfgit.JSON.readTree(plan.out());
            tampered.put("extra", true);
            ((ObjectNode) tampered.at("/units/0/changes/0")).put("pin", 42);
            tampered.remove("basis");
            Path bad = write(dir, "tampered.json", tampered.toPrettyString());
            Bpfgit.Cli refused = edge.cli("apply", "--plan", bad.toString(), "--yes");
            assertEquals(2, refused.exit(), refused.toString());
            assertTrue(refused.err().startsWith("error: " + bad + " is not a plan bpfgit can apply exactly"),
                    refused.err());
            assertTrue(refused.err().contains("\n  /units/0/changes/0/pin: "), refused.err());
            assertTrue(refused.err().contains("basis"), refused.err());
            assertTrue(refused.err().contains("extra"), refused.err());
            assertEquals(before, edge.pins(), "nothing changed under the pin root");
            assertEquals(0, t.xdpProgId("edge", "eth0"), "nothing attached");

            // only an entry broken: checked as the plan streams in, named with its line, and nothing changes
            ObjectNode entryBroken = (ObjectNode) Bpfgit.JSON.readTree(plan.out());
            String puts = null;
            for (int i = 0; i < entryBroken.at("/units/0/changes").size() && puts == null; i++) {
                if (entryBroken.at("/units/0/changes/" + i + "/op").asString().equals("PutEntries")) {
                    puts = "/units/0/changes/" + i;
                }
            }
            ((ObjectNode) entryBroken.at(puts + "/entries/0")).put("rawAfter", "0x01");
            Path badEntry = write(dir, "entry.json", entryBroken.toPrettyString());
            Bpfgit.Cli entryRefused = edge.cli("apply", "--plan", badEntry.toString(), "--yes");
            assertEquals(2, entryRefused.exit(), entryRefused.toString());
            assertTrue(entryRefused.err().startsWith("error: " + badEntry + " is not a plan bpfgit can apply exactly"),
                    entryRefused.err());
            assertTrue(entryRefused.err().matches("(?s).*\n  " + puts + "/entries/0/rawAfter: .* \\(line \\d+\\)\n.*"),
                    entryRefused.err());
            assertEquals(before, edge.pins(), "nothing changed under the pin root");
            assertEquals(0, t.xdpProgId("edge", "eth0"), "nothing attached");

            // the plan as bpfgit wrote it is applied
            Path good = write(dir, "plan.json", plan.out());
            Bpfgit.Cli applied = edge.cli("apply", "--plan", good.toString(), "--yes");
            assertEquals(0, applied.exit(), applied.toString());
            assertTrue(edge.pins().contains("traffic/eth0/xdp/link LINK"), edge.pins().toString());
        }
    }
}
