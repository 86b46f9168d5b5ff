package dev.bpfgit.it;

import tools.jackson.databind.JsonNode;
import dev.bpfgit.kernel.testing.Commands;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static dev.bpfgit.it.Bpfgit.traffic;
import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code status} of a drifted unit (what differs, from the kernel alone and counted against the policies) and
 * of a failed policy (the apply's reason): the packaged tool as a process, in a test namespace.
 */
@KernelTest
class StatusIT {
    private static final String UNIT = "traffic/eth0/xdp";
    private static final String POLICY = traffic("edge-filter", "eth0", "xdp", "source", "pass",
            "{prefix: 203.0.113.0/24, action: drop}",
            "{prefix: 198.51.100.0/24, action: drop}",
            "{prefix: 2001:db8:bad::/48, action: drop}");

    @BeforeAll
    static void launcherBuilt() {
        Bpfgit.warmUp();
    }

    private static void deleteRule(PinRoot root, String prefix) {
        String key = RunIT.hexBytes(TrafficLayout.key(Prefix.parse(prefix)).toArray());
        String map = prefix.contains(":") ? "/rules_v6" : "/rules_v4";
        List<String> delete = new ArrayList<>(List.of("bpftool", "map", "delete", "pinned",
                root.resolve(UNIT + map).toString(), "key", "hex"));
        delete.addAll(List.of(key.split(" ")));
        Commands.run(delete.toArray(String[]::new));
    }

    @Test
    void aDriftedUnitSaysWhatDiffers(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            Bpfgit.Cli apply = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            Bpfgit.Cli clean = edge.cli("status");
            assertEquals(0, clean.exit(), clean.toString());
            assertTrue(clean.out().contains("\nTrafficPolicy/edge-filter  in sync\n  " + UNIT + "\n"), clean.out());

            // a foreign writer removes three rules, of both families
            deleteRule(root, "203.0.113.0/24");
            deleteRule(root, "198.51.100.0/24");
            deleteRule(root, "2001:db8:bad::/48");
            Bpfgit.Cli kernelOnly = edge.cli("status");
            assertEquals(0, kernelOnly.exit(), kernelOnly.toString());
            assertTrue(kernelOnly.out().contains("\nTrafficPolicy/edge-filter  drifted\n  " + UNIT
                    + "  (drifted: map entries or pins changed (give PATH to count them))\n"), kernelOnly.out());
            assertEquals("", kernelOnly.err());

            Bpfgit.Cli counted = edge.cli("status", policies.toString());
            assertEquals(0, counted.exit(), counted.toString());
            // the text names the table the policy wrote, as the text plan does; the JSON the kernel's maps
            assertTrue(counted.out().contains("\n  " + UNIT + "  (drifted: 3 entries differ in rules)\n"),
                    counted.out());
            assertEquals("", counted.err());
            JsonNode json = edge.cli("status", policies.toString(), "-o", "json").json();
            assertEquals("drifted", json.at("/policies/0/state").asString(), json.toString());
            assertFalse(json.at("/policies/0/units/0/inSync").asBoolean(), json.toString());
            assertEquals("2 entries differ in rules_v4, 1 entry differs in rules_v6", json.at("/policies/0/units/0/reason").asString(),
                    json.toString());

            // the link's pin removed: the program is detached with it
            Files.delete(root.resolve(UNIT + "/link"));
            Bpfgit.Cli linkGone = edge.cli("status", policies.toString());
            assertTrue(linkGone.out().contains("\n  " + UNIT + "  (drifted: 3 entries differ in rules, link missing)\n"),
                    linkGone.toString());

            // corrected by apply: in sync, no reason
            assertEquals(0, edge.cli("apply", policies.toString(), "--yes").exit());
            JsonNode fixed = edge.cli("status", "-o", "json").json();
            assertEquals("in sync", fixed.at("/policies/0/state").asString(), fixed.toString());
            assertTrue(fixed.at("/policies/0/units/0/reason").isMissingNode(), fixed.toString());
        }
    }

    /** A link whose device is gone is told from the kernel alone. */
    @Test
    void aLinkWhoseDeviceIsGoneIsDetached(@TempDir Path dir) throws Exception {
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            t.ns("edge").run("ip", "link", "add", "gone0", "type", "veth", "peer", "name", "gone1");
            t.ns("edge").run("ip", "link", "set", "gone0", "up");
            Path policies = write(dir.resolve("policies"), "gone.yaml", traffic("gone", "gone0", "xdp", "source",
                    "pass", "{prefix: 203.0.113.0/24, action: drop}")).getParent();
            Bpfgit.Cli apply = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(0, apply.exit(), apply.toString());
            t.ns("edge").run("ip", "link", "del", "gone0");
            Bpfgit.Cli status = edge.cli("status");
            assertEquals(0, status.exit(), status.toString());
            assertTrue(status.out().contains("\nTrafficPolicy/gone  drifted\n  traffic/gone0/xdp  (drifted: link detached"
                    + " (its device is gone))\n"), status.out());
        }
    }

    /**
     * An apply the kernel refuses (XDP on a veth whose MTU is too large for a program without frags: ERANGE):
     * the policy is failed, with the reason, until an apply succeeds.
     */
    @Test
    void aFailedPolicyShowsTheReason(@TempDir Path dir) throws Exception {
        Path policies = write(dir.resolve("policies"), "edge.yaml", POLICY).getParent();
        try (PinRoot root = PinRoot.create(); Topology t = Topology.pair()) {
            Bpfgit.Host edge = new Bpfgit.Host(t.ns("edge"), root.path());
            assertEquals(0, edge.cli("apply", policies.toString(), "--yes").exit());
            t.ns("edge").run("ip", "link", "add", "big0", "mtu", "9000", "type", "veth", "peer", "name", "big1",
                    "mtu", "9000");
            t.ns("edge").run("ip", "link", "set", "big0", "up");
            t.ns("edge").run("ip", "link", "set", "big1", "up");
            write(policies, "big.yaml", traffic("big", "big0", "xdp", "source", "pass",
                    "{prefix: 192.0.2.0/24, action: drop}"));
            Bpfgit.Cli apply = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(3, apply.exit(), apply.toString());

            Bpfgit.Cli status = edge.cli("status");
            assertEquals(0, status.exit(), status.toString());
            assertTrue(Pattern.compile("(?m)^TrafficPolicy/big  failed: attach big0 xdp link .*: ERANGE \\(").matcher(status.out()).find(),
                    status.out());
            assertTrue(status.out().contains("\nTrafficPolicy/edge-filter  in sync\n"), status.out());
            JsonNode json = edge.cli("status", "-o", "json").json();
            JsonNode big = null;
            for (JsonNode p : json.get("policies")) {
                if (p.get("id").asString().equals("TrafficPolicy/big")) {
                    big = p;
                }
            }
            assertTrue(big != null, json.toString());
            assertEquals("failed", big.get("state").asString(), json.toString());
            assertTrue(big.get("reason").asString().contains("ERANGE"), json.toString());

            // the policy fixed (the MTU lowered): the next apply clears the failure
            t.ns("edge").run("ip", "link", "set", "big0", "mtu", "1500");
            t.ns("edge").run("ip", "link", "set", "big1", "mtu", "1500");
            Bpfgit.Cli again = edge.cli("apply", policies.toString(), "--yes");
            assertEquals(0, again.exit(), again.toString());
            Bpfgit.Cli ok = edge.cli("status");
            assertTrue(ok.out().contains("\nTrafficPolicy/big  in sync\n"), ok.out());
            assertFalse(ok.out().contains("failed"), ok.out());
        }
    }
}
