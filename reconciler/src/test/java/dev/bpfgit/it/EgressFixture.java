package dev.bpfgit.it;

import dev.bpfgit.kernel.CgroupRoot;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What EgressTimeoutIT (through the CLI) and EgressTimeoutKernelIT (in this JVM, also in the 6.1 VM) both stand
 * on: a client namespace joined by a veth to a server namespace running the echo server ({@code /egress/server.py}),
 * a cgroup v2 made for the test, the client script ({@code /egress/client.py}) started in it or outside it, and
 * the EgressTimeout policy of that cgroup. {@link #close} removes all of it; the test says how the pins go.
 */
final class EgressFixture {
    static final int PORT = 8080;

    final PinRoot root;
    final TestNetns client;
    final TestNetns server;
    final TestNetns.Veth veth;
    final Bpfgit.Host host;
    final Path cgroup;
    final String cgroupName;
    private final Path clientScript;
    private final List<Process> processes = new ArrayList<>();

    /** The client and server scripts copied out of the test resources into {@code dir}: {client, server}. */
    static Path[] scripts(Path dir) throws IOException {
        return new Path[]{copy(dir, "client.py"), copy(dir, "server.py")};
    }

    private static Path copy(Path dir, String name) throws IOException {
        Path p = dir.resolve(name);
        try (InputStream in = EgressFixture.class.getResourceAsStream("/egress/" + name)) {
            Files.copy(in, p);
        }
        return p;
    }

    /** @param cgroupPrefix the test's cgroup name is this and random hex, below the cgroup v2 root */
    EgressFixture(Path[] scripts, String cgroupPrefix) throws IOException {
        clientScript = scripts[0];
        root = PinRoot.create();
        client = TestNetns.create();
        server = TestNetns.create();
        veth = TestNetns.veth(client, server);
        byte[] r = new byte[4];
        ThreadLocalRandom.current().nextBytes(r);
        cgroupName = cgroupPrefix + HexFormat.of().formatHex(r);
        cgroup = Files.createDirectory(CgroupRoot.path().resolve(cgroupName));
        host = new Bpfgit.Host(client, root.path());
        Process s = server.start("python3", scripts[1].toString(), Integer.toString(PORT), veth.ipv4B(), veth.ipv6B());
        processes.add(s);
        String line = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertEquals("ready", line, "server did not start");
    }

    /** Something to run after the processes ended and before the namespaces go (removing the pins, say). */
    interface Cleanup {
        void run() throws Exception;
    }

    /** Ends the processes, runs {@code beforeNamespaces}, removes the namespaces, the pin root and the cgroup. */
    void close(Cleanup beforeNamespaces) throws Exception {
        for (Process p : processes) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        try {
            beforeNamespaces.run();
        } finally {
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
    }

    /** The EgressTimeout policy {@code crawler} of the test's cgroup. */
    String policy(String destinations, String timeouts) {
        return """
                apiVersion: bpfgit.dev/v1
                kind: EgressTimeout
                metadata: {name: crawler}
                spec:
                  cgroup: /%s
                  destinations: [%s]
                  timeouts: {%s}
                """.formatted(cgroupName, destinations, timeouts);
    }

    /** A client process; its lines go to the returned queue. */
    record Client(Process process, BlockingQueue<String> lines) {
        String next(Duration within) throws InterruptedException {
            return lines.poll(within.toMillis(), TimeUnit.MILLISECONDS);
        }

        /** The next line starting with {@code prefix}, failing when none comes in time. */
        String expect(String prefix, Duration within) throws InterruptedException {
            long end = System.nanoTime() + within.toNanos();
            List<String> seen = new ArrayList<>();
            while (System.nanoTime() < end) {
                String l = lines.poll(Math.max(1, (end - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS);
                if (l == null) {
                    break;
                }
                if (l.startsWith(prefix)) {
                    return l;
                }
                seen.add(l);
            }
            throw new AssertionError("no line starting with '" + prefix + "' within " + within + "; saw " + seen);
        }
    }

    /** The client script in the client namespace, in the test's cgroup or not, connecting to each target. */
    Client start(boolean inCgroup, String... targets) {
        List<String> c = new ArrayList<>();
        if (inCgroup) {
            c.addAll(List.of("sh", "-c", "echo $$ > " + cgroup.resolve("cgroup.procs") + " && exec python3 "
                    + clientScript + " " + String.join(" ", targets)));
        } else {
            c.add("python3");
            c.add(clientScript.toString());
            c.addAll(List.of(targets));
        }
        Process p = client.start(c.toArray(String[]::new));
        processes.add(p);
        BlockingQueue<String> q = new LinkedBlockingQueue<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    q.add(l);
                }
            } catch (IOException e) {
                q.add("io " + e);
            }
        });
        t.setDaemon(true);
        t.start();
        return new Client(p, q);
    }

    static String tcp(String address) {
        return "tcp:" + (address.contains(":") ? "[" + address + "]" : address) + ":" + PORT;
    }

    static String udp(String address) {
        return "udp:" + address + ":" + PORT;
    }
}
