package dev.bpfgit.state;

import dev.bpfgit.apply.Applier;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Observer;
import dev.bpfgit.policy.PolicyLoader;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.run.Pipeline;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class StateFileTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/bpfgit");
    private static final HostFacts HOST = new HostFacts("edge-1", Map.of("zone", "a"), Map.of("eth0", 2, "eth1", 3));

    private static Snapshot policy(String rev, String rules) {
        return new Snapshot(rev, Map.of("p.yaml", "apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata: {name: edge}\n"
                + "spec:\n  interfaces: [eth0]\n  hook: xdp\n  rules:\n" + rules));
    }

    private static DesiredState desired(Snapshot s) {
        return Compiler.compile(ROOT, s.revision(), new PolicyLoader().load(s), HOST);
    }

    @Test
    void aPlanAgainstAnExportedStateEqualsThePlanAgainstTheKernelItCameFrom() {
        MemoryKernel host = new MemoryKernel(HOST.interfaces(), 4);
        DesiredState r1 = desired(policy("r1", "    - {prefix: 192.0.2.0/24, action: drop}\n"
                + "    - {prefix: 2001:db8::/32, action: redirect, to: eth1}\n"));
        Applier.apply(host, Differ.diff(r1, Observer.observe(host, ROOT, Pipeline.attachPoints(r1))), Clock.systemUTC());

        List<AttachPoint> points = List.of(new AttachPoint.Xdp("eth0"), new AttachPoint.Xdp("eth1"));
        LiveState live = Observer.observe(host, ROOT, points);
        String json = StateFile.write(live, HOST, host.possibleCpus());
        StateFile.Loaded loaded = StateFile.read(json, "host.json");
        assertEquals(HOST, loaded.host());
        assertEquals(ROOT, loaded.root());
        assertEquals(json, StateFile.write(Observer.observe(loaded.kernel(), ROOT, points), loaded.host(), 4),
                "a state file read back writes the same file");

        DesiredState r2 = desired(policy("r2", "    - {prefix: 192.0.2.0/24, action: pass}\n"
                + "    - {prefix: 198.51.100.0/24, action: drop}\n"));
        String fromKernel = PlanText.render(Differ.diff(r2, Observer.observe(host, ROOT, Pipeline.attachPoints(r2))));
        String fromFile = PlanText.render(Differ.diff(r2, Observer.observe(loaded.kernel(), ROOT, Pipeline.attachPoints(r2))));
        assertEquals(fromKernel, fromFile);
        assertEquals(true, fromFile.matches("(?s).*~ 192\\.0\\.2\\.0/24 +pass \\(was drop\\).*"), fromFile);
    }
}
