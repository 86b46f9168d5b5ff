package dev.bpfgit.diff;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A host in memory (eth0, eth1, eth2) and helpers to plan and apply YAML against it. */
final class Fixture {
    static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    static final HostFacts HOST = new HostFacts("edge-1", Map.of("role", "edge"),
            Map.of("lo", 1, "eth0", 2, "eth1", 3, "eth2", 4));
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-23T12:00:00Z"), ZoneOffset.UTC);

    final MemoryKernel kernel = new MemoryKernel(HOST.interfaces(), 2);

    static Snapshot snapshot(String revision, String... nameAndText) {
        Map<String, String> files = new LinkedHashMap<>();
        for (int i = 0; i < nameAndText.length; i += 2) {
            files.put(nameAndText[i], nameAndText[i + 1]);
        }
        return new Snapshot(revision, files);
    }

    DesiredState desired(Snapshot s) {
        return Compiler.compile(ROOT, s.revision(), new PolicyLoader().load(s), HOST).withCommit(s.commit());
    }

    LiveState live(DesiredState d) {
        return Observer.observe(kernel, ROOT, Pipeline.attachPoints(d));
    }

    Plan plan(Snapshot s) {
        DesiredState d = desired(s);
        return Differ.diff(d, live(d));
    }

    ApplyResult apply(Plan p) {
        return Applier.apply(kernel, p, CLOCK);
    }

    /** Plans and applies, and checks that a re-plan is in sync. */
    ApplyResult converge(Snapshot s) {
        ApplyResult r = apply(plan(s));
        assertEquals(true, plan(s).inSync(), "re-plan after apply must be in sync");
        return r;
    }

    /** One TrafficPolicy, edge-filter on eth0's xdp, in policies/edge.yaml. */
    static Snapshot edge(String revision, String... rules) {
        return snapshot(revision, "policies/edge.yaml", policy("edge-filter", "eth0", "xdp", rules));
    }

    /**
     * Five small plans from the differ with every kind of step between them, applied in turn on this host: the
     * plan renderers' fixture.
     */
    List<Plan> everyKindOfStep() {
        Snapshot first = edge("r1", "{prefix: 203.0.113.0/24, action: drop}",
                "{prefix: 198.51.100.0/24, action: redirect, to: eth1}");
        Plan create = plan(first);                                                  // CreateMap, PutEntries, LoadProgram, CreateLink
        converge(first);
        Plan change = plan(edge("r2", "{prefix: 203.0.113.0/24, action: pass}"));   // PutEntries ~, DeleteEntries
        Plan replace = plan(snapshot("r3", "p.yaml", policy("edge-filter", "eth0", "xdp",
                "{prefix: 192.0.2.0/24, action: drop}").replace("  rules:", "  capacity: 128\n  rules:")));  // ReplaceMap, Rename
        Plan destroy = Differ.destroy(live(desired(first)));                        // Unpin
        return List.of(create, change, replace, destroy, plan(first));              // the last in sync
    }

    static String policy(String name, String iface, String hook, String... rules) {
        StringBuilder sb = new StringBuilder("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata:\n  name: ")
                .append(name).append("\nspec:\n  interfaces: [").append(iface).append("]\n  hook: ").append(hook)
                .append("\n  rules:\n");
        for (String r : rules) {
            sb.append("    - ").append(r).append('\n');
        }
        return sb.toString();
    }

    /** The content of an expected-output file; -Dgolden.update=true rewrites it from {@code actual} first. */
    static String expected(Path p, String actual) {
        try {
            if (Boolean.getBoolean("golden.update")) {
                Files.writeString(p, actual);
            }
            return Files.readString(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Compares with a golden file under src/test/resources/golden; -Dgolden.update=true rewrites them. */
    static void golden(String name, String actual) {
        Path p = Path.of("src/test/resources/golden", name);
        try {
            if (Boolean.getBoolean("golden.update")) {
                Files.createDirectories(p.getParent());
                Files.writeString(p, actual);
            }
            assertEquals(Files.readString(p), actual, "golden file " + p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
