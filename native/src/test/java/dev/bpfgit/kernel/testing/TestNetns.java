package dev.bpfgit.kernel.testing;

import dev.bpfgit.kernel.linux.Libc;
import dev.bpfgit.kernel.linux.Netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A throwaway network namespace {@code bpfgit-t-<random>} with loopback up. Commands run inside through
 * {@code nsenter --net}, never {@code ip netns exec}, which mounts a fresh /sys and so hides bpffs.
 * Closing kills what {@link #start} started and deletes the namespace, which takes its veths along.
 */
public final class TestNetns implements AutoCloseable {
    private static final AtomicInteger SUBNETS = new AtomicInteger();

    private final String name;
    private final List<Process> started = new ArrayList<>();
    private boolean closed;

    private TestNetns(String name) {
        this.name = name;
    }

    public static TestNetns create() {
        byte[] r = new byte[4];
        ThreadLocalRandom.current().nextBytes(r);
        TestNetns ns = new TestNetns("bpfgit-t-" + HexFormat.of().formatHex(r));
        Commands.run("ip", "netns", "add", ns.name);
        try {
            ns.run("ip", "link", "set", "lo", "up");
        } catch (RuntimeException | AssertionError e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    public String name() {
        return name;
    }

    /** The namespace file, for {@link Netns#call} or {@code nsenter --net=}. */
    public Path path() {
        return Path.of("/run/netns", name);
    }

    private List<String> inside(String... command) {
        List<String> c = new ArrayList<>(List.of("nsenter", "--net=" + path()));
        c.addAll(List.of(command));
        return c;
    }

    /** Runs a command inside and returns its result, whatever the exit code. */
    public Commands.Result exec(String... command) {
        return Commands.exec(inside(command));
    }

    /** Runs a command inside, failing unless it exits 0; returns stdout. */
    public String run(String... command) {
        return exec(command).orFail().stdout();
    }

    /** Starts a background command inside (a server, a traffic source); killed on close. */
    public Process start(String... command) {
        try {
            Process p = new ProcessBuilder(inside(command)).redirectErrorStream(true).start();
            started.add(p);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs Java code with the current thread inside this namespace (for Kernel calls that resolve ifindexes). */
    public <T> T call(Callable<T> body) throws Exception {
        return Netns.call(path(), body);
    }

    /** The ifindex of an interface of this namespace. */
    public int ifindex(String ifname) throws Exception {
        return call(() -> Libc.ifNameToIndex(ifname));
    }

    /** A veth pair between two namespaces, both ends up, with IPv4 and IPv6 addresses (no DAD delay). */
    public record Veth(TestNetns a, String ifA, String ipv4A, String ipv6A,
                       TestNetns b, String ifB, String ipv4B, String ipv6B) {
    }

    /** A veth pair {@code veth-a} in {@code a} and {@code veth-b} in {@code b} on a fresh subnet. */
    public static Veth veth(TestNetns a, TestNetns b) {
        int n = SUBNETS.incrementAndGet() % 250;
        return veth(a, "veth-a", "10.250." + n + ".1", "fd00:250:" + Integer.toHexString(n) + "::1",
                b, "veth-b", "10.250." + n + ".2", "fd00:250:" + Integer.toHexString(n) + "::2");
    }

    public static Veth veth(TestNetns a, String ifA, String ipv4A, String ipv6A,
                            TestNetns b, String ifB, String ipv4B, String ipv6B) {
        // created directly inside the two namespaces, so the names never meet the host's
        Commands.run("ip", "link", "add", ifA, "netns", a.name, "type", "veth", "peer", "name", ifB, "netns", b.name);
        a.address(ifA, ipv4A, ipv6A);
        b.address(ifB, ipv4B, ipv6B);
        return new Veth(a, ifA, ipv4A, ipv6A, b, ifB, ipv4B, ipv6B);
    }

    private void address(String ifname, String ipv4, String ipv6) {
        run("ip", "addr", "add", ipv4 + "/24", "dev", ifname);
        run("ip", "-6", "addr", "add", ipv6 + "/64", "dev", ifname, "nodad");
        run("ip", "link", "set", ifname, "up");
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Process p : started) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Commands.run("ip", "netns", "del", name);
    }

    @Override
    public String toString() {
        return name;
    }
}
