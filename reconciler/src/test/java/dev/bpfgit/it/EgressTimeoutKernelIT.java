package dev.bpfgit.it;

import dev.bpfgit.compile.NotSupportedException;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.testing.KernelTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static dev.bpfgit.it.Bpfgit.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * EgressTimeout on the kernel under test, through the pipeline in this JVM (no CLI process: under the 6.1
 * VM's TCG every JVM start costs seconds): its socket-layer timeouts (sock_ops bpf_setsockopt, 4.13) work on
 * every kernel bpfgit supports; its idle timeouts need bpf_sock_destroy (6.5), and where the probes find it
 * missing (Debian 12's 6.1) plan refuses them naming the feature and the policy, touching nothing.
 * EgressTimeoutIT covers the kind end to end through the CLI on this host.
 */
@KernelTest
class EgressTimeoutKernelIT {
    @TempDir
    static Path tmp;
    static Path[] scripts;

    EgressFixture f;

    @BeforeAll
    static void files() throws IOException {
        scripts = EgressFixture.scripts(tmp);
    }

    @BeforeEach
    void setUp() throws IOException {
        f = new EgressFixture(scripts, "bpfgit-tk-");
    }

    @AfterEach
    void tearDown() throws Exception {
        // in this JVM, as the test applies: no CLI process
        f.close(() -> f.host.inside(p -> p.apply(Differ.destroy(p.observe(List.of())))));
    }

    private String policy(String timeouts) {
        return f.policy("{prefix: " + f.veth.ipv4B() + "/32}", timeouts);
    }

    /** The TCP_USER_TIMEOUT a new connection from the cgroup to the server gets, in ms. */
    private int userTimeoutOfANewConnection() throws InterruptedException {
        EgressFixture.Client c = f.start(true, EgressFixture.tcp(f.veth.ipv4B()));
        String line = c.expect("ut ", Duration.ofSeconds(30));
        c.process().destroyForcibly();
        return Integer.parseInt(line.split(" ")[2]);
    }

    @Test
    void socketLayerTimeoutsWorkAndIdleTimeoutsNeedBpfSockDestroy(@TempDir Path dir) throws Exception {
        Path socketLayer = write(dir.resolve("a"), "egress.yaml", policy("tcpSyn: 2s, tcpUser: 7s")).getParent();
        f.host.apply(socketLayer);
        assertEquals(7000, userTimeoutOfANewConnection(), "tcpUser 7s through sock_ops bpf_setsockopt");

        Path idle = write(dir.resolve("b"), "egress.yaml", policy("tcpUser: 5s, tcpEstablished: 1h")).getParent();
        boolean destroy = new LinuxKernel().features().has(Feature.SOCK_DESTROY);
        if (destroy) {
            assertFalse(f.host.plan(idle).inSync(), "plans on " + System.getProperty("os.version"));
            return;
        }
        NotSupportedException e = assertThrows(NotSupportedException.class, () -> f.host.plan(idle));
        assertTrue(e.getMessage().startsWith("NotSupported(" + Feature.SOCK_DESTROY.description() + ", Linux 6.5): kernel "
                + System.getProperty("os.version") + " does not have it; needed by EgressTimeout/crawler ("), e.getMessage());
        // refused before anything changed: the socket-layer policy still holds
        assertEquals(7000, userTimeoutOfANewConnection());
    }
}
