package dev.bpfgit.it;

import dev.bpfgit.compile.NotSupportedException;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.kernel.CgroupRoot;
import dev.bpfgit.kernel.Feature;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

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
    private static final int PORT = 8080;

    @TempDir
    static Path tmp;
    static Path clientScript;
    static Path serverScript;

    PinRoot root;
    TestNetns client;
    TestNetns server;
    TestNetns.Veth veth;
    Bpfgit.Host host;
    Path cgroup;
    final List<Process> processes = new ArrayList<>();

    @BeforeAll
    static void files() throws IOException {
        clientScript = copy("client.py");
        serverScript = copy("server.py");
    }

    private static Path copy(String name) throws IOException {
        Path p = tmp.resolve(name);
        try (InputStream in = EgressTimeoutKernelIT.class.getResourceAsStream("/egress/" + name)) {
            Files.copy(in, p);
        }
        return p;
    }

    @BeforeEach
    void setUp() throws IOException {
        root = PinRoot.create();
        client = TestNetns.create();
        server = TestNetns.create();
        veth = TestNetns.veth(client, server);
        byte[] r = new byte[4];
        ThreadLocalRandom.current().nextBytes(r);
        cgroup = Files.createDirectory(CgroupRoot.path().resolve("bpfgit-tk-" + HexFormat.of().formatHex(r)));
        host = new Bpfgit.Host(client, root.path());
        Process s = server.start("python3", serverScript.toString(), Integer.toString(PORT), veth.ipv4B(), veth.ipv6B());
        processes.add(s);
        String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertEquals("ready", line, "server did not start");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        host.inside(p -> p.apply(Differ.destroy(p.observe(List.of()))));
        server.close();
        client.close();
        root.close();
        // empty once its processes ended; the kernel may take a moment to see them gone
        for (int i = 0; ; i++) {
            try {
                Files.delete(cgroup);
                break;
            } catch (IOException e) {
                if (i == 50) {
                    throw e;
                }
                Thread.sleep(100);
            }
        }
    }

    private String policy(String timeouts) {
        return """
                apiVersion: bpfgit.dev/v1
                kind: EgressTimeout
                metadata: {name: crawler}
                spec:
                  cgroup: /%s
                  destinations: [{prefix: %s/32}]
                  timeouts: {%s}
                """.formatted(cgroup.getFileName(), veth.ipv4B(), timeouts);
    }

    /** The TCP_USER_TIMEOUT a new connection from the cgroup to the server gets, in ms. */
    private int userTimeoutOfANewConnection() throws IOException {
        Process p = client.start("sh", "-c", "echo $$ > " + cgroup.resolve("cgroup.procs") + " && exec python3 "
                + clientScript + " tcp:" + veth.ipv4B() + ":" + PORT);
        processes.add(p);
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertTrue(line != null && line.startsWith("ut "), "client: " + line);
        p.destroyForcibly();
        return Integer.parseInt(line.split(" ")[2]);
    }

    @Test
    void socketLayerTimeoutsWorkAndIdleTimeoutsNeedBpfSockDestroy(@TempDir Path dir) throws Exception {
        Path socketLayer = write(dir.resolve("a"), "egress.yaml", policy("tcpSyn: 2s, tcpUser: 7s")).getParent();
        host.apply(socketLayer);
        assertEquals(7000, userTimeoutOfANewConnection(), "tcpUser 7s through sock_ops bpf_setsockopt");

        Path idle = write(dir.resolve("b"), "egress.yaml", policy("tcpUser: 5s, tcpEstablished: 1h")).getParent();
        boolean destroy = new LinuxKernel().features().has(Feature.SOCK_DESTROY);
        if (destroy) {
            assertFalse(host.plan(idle).inSync(), "plans on " + System.getProperty("os.version"));
            return;
        }
        NotSupportedException e = assertThrows(NotSupportedException.class, () -> host.plan(idle));
        assertTrue(e.getMessage().startsWith("NotSupported(" + Feature.SOCK_DESTROY.description() + ", Linux 6.5): kernel "
                + System.getProperty("os.version") + " does not have it; needed by EgressTimeout/crawler ("), e.getMessage());
        // refused before anything changed: the socket-layer policy still holds
        assertEquals(7000, userTimeoutOfANewConnection());
    }
}
