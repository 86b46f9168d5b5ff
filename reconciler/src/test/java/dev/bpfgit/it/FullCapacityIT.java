package dev.bpfgit.it;

import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A TrafficPolicy at exactly its capacity on the real kernel (LPM tries with BPF_F_NO_PREALLOC at
 * max_entries): the kernel refuses one more entry, and bpfgit still replaces prefixes in one apply.
 */
@KernelTest
class FullCapacityIT {
    private static final String FULL = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 198.51.100.0/24, action: pass}",
            "{prefix: 10.9.0.0/16, action: drop}",
            "{prefix: 10.8.0.0/16, action: drop}").replace("  rules:", "  capacity: 4\n  rules:");
    private static final String REPLACED = FULL
            .replace("{prefix: 10.9.0.0/16, action: drop}", "{prefix: 192.0.2.0/24, action: drop}")
            .replace("{prefix: 10.8.0.0/16, action: drop}", "{prefix: 198.18.0.0/15, action: drop}");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    @Test
    void aPolicyAtItsCapacityReplacesPrefixesInOneApply(@TempDir Path dir) throws Exception {
        Path full = write(dir.resolve("full"), "edge.yaml", FULL).getParent();
        Path replaced = write(dir.resolve("replaced"), "edge.yaml", REPLACED).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Bpfgit.Cli first = edge.cli("apply", full.toString(), "--yes");
            assertEquals(0, first.exit(), first.toString());
            assertEquals(3, t.ping("client", "192.0.2.7", "10.0.0.2", 3), "no rule for 192.0.2.0/24 yet: pass");
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3));

            // what the kernel says to one entry more than max_entries
            String rules = "traffic/eth0/xdp/rules_v4";
            Bytes extra = TrafficLayout.key(Prefix.parse("100.64.0.0/10"));
            KernelException e = assertThrows(KernelException.class, () -> edge.inside(p -> {
                p.kernel().update(root.resolve(rules), List.of(new Entry(extra, Bytes.wrap(new byte[TrafficLayout.RULE_SIZE]))));
                return null;
            }));
            assertEquals("ENOSPC", e.errno().name(), e.getMessage());

            Bpfgit.Cli plan = edge.cli("plan", replaced.toString());
            assertEquals(1, plan.exit(), plan.toString());
            assertTrue(plan.out().contains("(4 -> 4 entries, full: removals make room first)"), plan.out());
            Bpfgit.Cli apply = edge.cli("apply", replaced.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            assertTrue(apply.out().contains("2 entries written, 2 deleted."), apply.out());
            Bpfgit.Cli again = edge.cli("plan", replaced.toString());
            assertEquals(0, again.exit(), "converged in one apply: " + again);

            Set<String> live = new HashSet<>();
            Set<Long> slots = new HashSet<>();
            for (Entry en : edge.entries(rules)) {
                live.add(TrafficLayout.prefix(en.key()).toString());
                slots.add(TrafficLayout.rule(en.value()).slot());
            }
            assertEquals(Set.of("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24", "198.18.0.0/15"), live);
            assertEquals(4, slots.size(), "every rule has its own counter slot");
            assertEquals(0, t.ping("client", "192.0.2.7", "10.0.0.2", 3), "the new rule drops");
            assertEquals(0, t.ping("client", "203.0.113.7", "10.0.0.2", 3), "a kept rule still drops");
            assertEquals(3, t.ping("client", "198.51.100.7", "10.0.0.2", 3), "a kept pass rule still passes");
            assertEquals(3L, edge.packets("traffic/eth0/xdp").get("192.0.2.0/24"), "counted on its own slot");
            assertEquals(0, edge.cli("destroy", "--yes").exit());
        }
    }
}
