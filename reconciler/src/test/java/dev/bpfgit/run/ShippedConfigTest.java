package dev.bpfgit.run;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.snakeyaml.engine.v2.api.Load;
import org.snakeyaml.engine.v2.api.LoadSettings;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What config/ ships (design sections 1, 2 and 6): bpfgit.yaml documents the defaults the code has, the
 * DaemonSet runs the sidecar with hostNetwork, hostPID, bpffs and cgroup2 hostPath mounts and a configuration
 * bpfgit accepts, and the systemd unit runs the sidecar.
 */
class ShippedConfigTest {
    private static final Path CONFIG = Path.of("../config");

    @Test
    void bpfgitYamlIsValidAndItsValuesAreTheDefaults() {
        Config shipped = Config.load(CONFIG.resolve("bpfgit.yaml"));
        Config defaults = Config.defaults();
        assertEquals(defaults.root(), shipped.root());
        assertEquals(Duration.ofSeconds(60), shipped.interval(), "design section 6: drift interval default 60s");
        assertEquals(defaults.interval(), shipped.interval());
        assertEquals(defaults.jitter(), shipped.jitter());
        assertEquals(defaults.correctDrift(), shipped.correctDrift());
        assertEquals(defaults.listen(), shipped.listen());
        assertTrue(shipped.listen().startsWith("127.0.0.1:"), "metrics on loopback only: " + shipped.listen());
        assertEquals(defaults.maxRuleSeries(), shipped.maxRuleSeries());
        assertEquals(defaults.lockTimeout(), shipped.lockTimeout());
        assertEquals(defaults.writeCounter(), shipped.writeCounter());
        assertEquals(defaults.lastGood(), shipped.lastGood());
        assertEquals(Optional.of(Path.of("/etc/bpfgit/policies")), shipped.sourcePath());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o) {
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    @Test
    void theDaemonSetRunsTheSidecarOnTheHostWithBpffsAndCgroup2AndAValidConfiguration(@TempDir Path dir)
            throws Exception {
        List<Map<String, Object>> docs = new ArrayList<>();
        new Load(LoadSettings.builder().build()).loadAllFromString(Files.readString(CONFIG.resolve("daemonset.yaml")))
                .forEach(d -> docs.add(map(d)));
        Map<String, Object> ds = docs.stream().filter(d -> "DaemonSet".equals(d.get("kind"))).findFirst().orElseThrow();
        Map<String, Object> pod = map(map(map(ds.get("spec")).get("template")).get("spec"));
        assertEquals(true, pod.get("hostNetwork"));
        assertEquals(true, pod.get("hostPID"));
        List<String> hostPaths = new ArrayList<>();
        for (Object v : list(pod.get("volumes"))) {
            Object hp = map(v).get("hostPath");
            if (hp != null) {
                hostPaths.add((String) map(hp).get("path"));
            }
        }
        assertTrue(hostPaths.contains("/sys/fs/bpf"), hostPaths.toString());
        assertTrue(hostPaths.stream().anyMatch(p -> p.startsWith("/sys/fs/cgroup")), hostPaths.toString());
        Map<String, Object> container = map(list(pod.get("containers")).getFirst());
        List<Object> args = list(container.get("args"));
        assertEquals(List.of("run", "--config"), args.subList(0, 2), args.toString());
        for (String probe : List.of("livenessProbe", "readinessProbe")) {
            Map<String, Object> get = map(map(container.get(probe)).get("httpGet"));
            assertEquals("127.0.0.1", get.get("host"), probe);
            assertEquals(probe.startsWith("live") ? "/healthz" : "/readyz", get.get("path"), probe);
        }

        Map<String, Object> cm = docs.stream().filter(d -> "ConfigMap".equals(d.get("kind"))).findFirst().orElseThrow();
        Path file = Files.writeString(dir.resolve("bpfgit.yaml"), (String) map(cm.get("data")).get("bpfgit.yaml"));
        Config config = Config.load(file);
        assertTrue(config.git().isPresent(), "the DaemonSet's configuration follows a git branch");
        assertEquals("127.0.0.1:9753", config.listen());
    }

    @Test
    void theSystemdUnitRunsTheSidecarWithItsCapabilities() throws Exception {
        String unit = Files.readString(CONFIG.resolve("bpfgit.service"));
        assertTrue(unit.lines().anyMatch(l -> l.matches("ExecStart=\\S*bpfgit run --config \\S+")), unit);
        String caps = unit.lines().filter(l -> l.startsWith("CapabilityBoundingSet=")).findFirst().orElseThrow();
        for (String cap : List.of("CAP_BPF", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE")) {
            assertTrue(caps.contains(cap), "design section 1 names " + cap + ": " + caps);
        }
    }
}
