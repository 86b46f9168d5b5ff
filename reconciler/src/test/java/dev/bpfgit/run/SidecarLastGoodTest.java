package dev.bpfgit.run;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.Prefix;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sidecar's hooks of a directory's kept copy: written once a revision is applied, enforced after a restart. */
class SidecarLastGoodTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final Path RULES = ROOT.resolve("traffic/eth0/xdp/rules_v4");
    private static final HostFacts HOST = new HostFacts("edge-1", Map.of(), Map.of("eth0", 2, "eth1", 3));
    private static final String DROP = "    - {prefix: 192.0.2.0/24, action: drop}\n";
    private static final String BAD = "    - {prefix: 192.0.2.0/24, action: explode}\n";

    @TempDir
    Path tmp;
    private final MemoryKernel memory = new MemoryKernel(HOST.interfaces(), 2);
    private final SidecarTest.MutableClock clock = new SidecarTest.MutableClock();
    private final SidecarTest.FakeSource source = new SidecarTest.FakeSource();

    private Sidecar sidecar(Path lastGood) throws IOException {
        Path file = tmp.resolve("bpfgit.yaml");
        Files.writeString(file, "source: {path: policies, lastGood: " + lastGood + "}\n"
                + "reconcile: {interval: 60s, jitter: 0, drift: correct}\n");
        return new Sidecar(new Pipeline(memory, ROOT, clock), source, () -> HOST, Config.load(file),
                Duration.ofSeconds(30), clock, new Metrics(clock));
    }

    /** Files named as the directory source names them, with the id it would give them (from the names inside). */
    private Snapshot revision(String rules) {
        String text = "apiVersion: bpfgit.dev/v1\n"
                + "kind: TrafficPolicy\nmetadata: {name: edge}\nspec:\n  interfaces: [eth0]\n  hook: xdp\n  rules:\n"
                + rules;
        Map<String, String> files = Map.of(tmp.resolve("policies/p.yaml").toString(), text);
        return new Snapshot(DirectorySource.revisionOf(Map.of("p.yaml", text)), files);
    }

    private boolean has(String prefix) {
        return memory.lookup(RULES, TrafficLayout.key(Prefix.parse(prefix))).isPresent();
    }

    private String applied() {
        return memory.entries(Meta.pin(ROOT)).stream().filter(e -> Meta.decode(e.key()).equals("revision"))
                .map(e -> Meta.decode(e.value())).findFirst().orElse("");
    }

    @Test
    void aRestartOnAnInvalidDirectoryEnforcesTheCopyOfWhatWasApplied() throws IOException {
        Path lastGood = tmp.resolve("state/lastgood");
        Snapshot good = revision(DROP);
        source.set("1", good);
        sidecar(lastGood).step();
        assertEquals(good.revision(), applied());

        source.set("2", revision(BAD));
        memory.delete(RULES, List.of(TrafficLayout.key(Prefix.parse("192.0.2.0/24"))));
        Sidecar restarted = sidecar(lastGood);
        restarted.step();
        assertEquals(Optional.of(good.revision()), restarted.enforcedRevision());
        assertTrue(has("192.0.2.0/24"), "drift corrected from the copy");
        assertTrue(restarted.ready());
        assertEquals(Sidecar.SourceState.INVALID, restarted.sourceState());

        // unreachable (the directory is gone) at a restart: the same
        source.set("3", new dev.bpfgit.source.SourceException("read " + tmp.resolve("policies") + ": no such directory"));
        memory.delete(RULES, List.of(TrafficLayout.key(Prefix.parse("192.0.2.0/24"))));
        Sidecar again = sidecar(lastGood);
        again.step();
        assertEquals(Optional.of(good.revision()), again.enforcedRevision());
        assertTrue(has("192.0.2.0/24"));
        assertEquals(Sidecar.SourceState.UNREACHABLE, again.sourceState());
    }

    /**
     * A host upgraded from a build whose directory ids hashed the file names as the sidecar typed them: the pins
     * record that id, the kept copy of the same files is enforced, and the id of now is recorded.
     */
    @Test
    void anUpgradedHostEnforcesItsCopyRecordedUnderTheEarlierIdAndRecordsTheIdOfNow() throws IOException {
        Path lastGood = tmp.resolve("state/lastgood");
        Snapshot now = revision(DROP);
        Snapshot earlier = new Snapshot(DirectorySource.revisionOf(now.files()), now.files());
        assertTrue(!earlier.revision().equals(now.revision()));
        source.set("1", earlier);
        sidecar(lastGood).step();
        assertEquals(earlier.revision(), applied());

        source.set("2", revision(BAD));
        memory.delete(RULES, List.of(TrafficLayout.key(Prefix.parse("192.0.2.0/24"))));
        Sidecar upgraded = sidecar(lastGood);
        upgraded.step();
        assertEquals(Optional.of(now.revision()), upgraded.enforcedRevision());
        assertTrue(has("192.0.2.0/24"), "drift corrected from the copy");
        assertEquals(now.revision(), applied());
    }

    /** Without a copy (it could not be written) the restart enforces nothing, as before; the apply itself stands. */
    @Test
    void aCopyThatCannotBeWrittenDoesNotFailTheApply() throws IOException {
        Path blocked = Files.writeString(tmp.resolve("not-a-directory"), "");
        Snapshot good = revision(DROP);
        source.set("1", good);
        Sidecar first = sidecar(blocked.resolve("lastgood"));
        first.step();
        assertTrue(first.ready());
        assertEquals(good.revision(), applied());

        source.set("2", revision(BAD));
        memory.delete(RULES, List.of(TrafficLayout.key(Prefix.parse("192.0.2.0/24"))));
        Sidecar restarted = sidecar(blocked.resolve("lastgood"));
        restarted.step();
        clock.advance(Duration.ofSeconds(61));
        restarted.step();
        assertEquals(Optional.empty(), restarted.enforcedRevision());
        assertFalse(has("192.0.2.0/24"));
    }
}
