package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.LinkInfo;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kernel.testing.BpfCompiler;
import dev.bpfgit.kernel.testing.KernelTest;
import dev.bpfgit.kernel.testing.PinRoot;
import dev.bpfgit.kernel.testing.TestNetns;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Kernel.runIterator on an iter/tcp program: it walks the namespace it is created in, pinned link or program. */
@KernelTest
class IteratorIT {
    @TempDir
    static Path tmp;
    static ObjectFile object;
    static ObjectFile filter;

    final LinuxKernel kernel = new LinuxKernel();
    PinRoot root;
    TestNetns ns;

    @BeforeAll
    static void compile() {
        object = BpfCompiler.compile("/bpf/iter.bpf.c", tmp);
        filter = BpfCompiler.compile("/bpf/iter_filter.bpf.c", tmp);
    }

    @BeforeEach
    void setUp() {
        root = PinRoot.create();
        ns = TestNetns.create();
    }

    @AfterEach
    void tearDown() {
        ns.close();
        root.close();
    }

    /** Local ports of the LISTEN (state 10) sockets in the iterator's output. */
    static Set<Integer> listening(byte[] out) {
        assertEquals(0, out.length % 3, "records of 3 bytes");
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < out.length; i += 3) {
            if ((out[i + 2] & 0xff) == 10) {
                ports.add((out[i] & 0xff) | (out[i + 1] & 0xff) << 8);
            }
        }
        return ports;
    }

    @Test
    void walksTheNamespaceItIsCreatedIn() throws Exception {
        Path prog = root.resolve("it_tcp");
        kernel.loadProgram(prog, new ProgramSpec(object, "it_tcp_ports", Map.of()));
        Path link = root.resolve("it_tcp_link");
        kernel.attachIterator(link, prog);
        LinkInfo info = kernel.linkInfo(link).orElseThrow();
        assertEquals(LinkInfo.TYPE_ITER, info.type());

        ns.start("python3", "-c", "import socket,time\n"
                + "s=socket.socket(); s.bind(('127.0.0.1', 47311)); s.listen(); print('up', flush=True); time.sleep(60)");
        waitForListener();

        assertTrue(listening(kernel.runIterator(link, Optional.of(ns.path()))).contains(47311));
        // the program pin works too: a link for this run only
        assertTrue(listening(kernel.runIterator(prog, Optional.of(ns.path()))).contains(47311));
        // from a virtual thread the run moves to a platform thread and still sees the namespace
        Set<Integer>[] seen = new Set[1];
        Thread.ofVirtual().start(() -> seen[0] = listening(kernel.runIterator(link, Optional.of(ns.path())))).join();
        assertTrue(seen[0].contains(47311));
        // a fresh namespace has no such listener
        try (TestNetns other = TestNetns.create()) {
            assertFalse(listening(kernel.runIterator(link, Optional.of(other.path()))).contains(47311));
        }
    }

    static dev.bpfgit.kernel.Bytes u32(int v) {
        return dev.bpfgit.kernel.Bytes.wrap(new byte[]{(byte) v, (byte) (v >>> 8), (byte) (v >>> 16), (byte) (v >>> 24)});
    }

    /** Maps of the kernel named {@code name} (bpftool), by their lines. */
    static java.util.List<String> maps(String name) {
        return dev.bpfgit.kernel.testing.Commands.run("bpftool", "map", "show").lines()
                .filter(l -> l.contains(" name " + name + " ")).toList();
    }

    @Test
    void runsAnObjectsIteratorsWithTemporaryMapsThatDieWithTheRun() throws Exception {
        ns.start("python3", "-c", "import socket,time\n"
                + "s=socket.socket(); s.bind(('127.0.0.1', 47311)); s.listen(); print('up', flush=True); time.sleep(60)");
        waitForListener();
        Path seen = root.resolve("it_seen");
        kernel.createMap(seen, new dev.bpfgit.kernel.MapSpec("it_seen", dev.bpfgit.kernel.MapType.ARRAY, 4, 8, 1, 0,
                Optional.empty()));
        dev.bpfgit.kernel.MapSpec port = new dev.bpfgit.kernel.MapSpec("it_port", dev.bpfgit.kernel.MapType.ARRAY, 4, 4,
                1, 0, Optional.empty());
        assertEquals(java.util.List.of(), maps("it_port"));

        // the temporary map holds the port to list; the pinned counter is the one the program counts in
        java.util.List<byte[]> out = kernel.runIterators(filter, java.util.List.of("it_tcp_port"), Map.of(
                "it_port", new dev.bpfgit.kernel.MapSource.Temporary(port, Map.of(u32(0), u32(47311))),
                "it_seen", new dev.bpfgit.kernel.MapSource.Pinned(seen)), Optional.of(ns.path()));
        assertEquals(1, out.size());
        assertEquals(java.util.List.of(47311), java.util.List.of((out.get(0)[0] & 0xff) | (out.get(0)[1] & 0xff) << 8));
        assertEquals(2, out.get(0).length);
        assertEquals(1, kernel.lookup(seen, u32(0)).orElseThrow().toArray()[0]);

        // another port: nothing listed, nothing counted
        out = kernel.runIterators(filter, java.util.List.of("it_tcp_port"), Map.of(
                "it_port", new dev.bpfgit.kernel.MapSource.Temporary(port, Map.of(u32(0), u32(47312))),
                "it_seen", new dev.bpfgit.kernel.MapSource.Pinned(seen)), Optional.of(ns.path()));
        assertEquals(0, out.get(0).length);
        assertEquals(1, kernel.lookup(seen, u32(0)).orElseThrow().toArray()[0]);

        // the temporary maps are gone (the kernel frees a map after its last reference, the programs', which it
        // frees after an RCU grace period), and nothing else was pinned
        awaitNoMap("it_port");
        assertEquals(java.util.List.of(seen), kernel.pins(root.path()).stream().map(dev.bpfgit.kernel.Pin::path).toList());

        // every map the object declares must be given
        dev.bpfgit.kernel.KernelException e = org.junit.jupiter.api.Assertions.assertThrows(
                dev.bpfgit.kernel.KernelException.class, () -> kernel.runIterators(filter,
                        java.util.List.of("it_tcp_port"), Map.of("it_port",
                                new dev.bpfgit.kernel.MapSource.Temporary(port, Map.of())), Optional.empty()));
        assertTrue(e.getMessage().contains("it_seen"), e.getMessage());
        awaitNoMap("it_port");
    }

    static void awaitNoMap(String name) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!maps(name).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(java.util.List.of(), maps(name), "maps left behind");
    }

    private void waitForListener() throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (ns.exec("ss", "-Hltn", "sport = :47311").stdout().contains("47311")) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("listener did not come up");
    }
}
