package dev.bpfgit.cli;

import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The host facts read ahead on a thread of their own while the policies are parsed (plan, apply). */
class CommonTest {

    private static Common common() {
        Common c = new Common();
        c.host = "web-1";
        c.labels.put("role", "edge");
        return c;
    }

    /** {@code kernel} seen through a proxy that records the threads it is called on and may fail interfaces(). */
    private static Kernel recording(Kernel kernel, Set<Thread> threads, RuntimeException interfacesFail) {
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class}, (p, m, a) -> {
            threads.add(Thread.currentThread());
            if (interfacesFail != null && m.getName().equals("interfaces")) {
                throw interfacesFail;
            }
            try {
                return m.invoke(kernel, a);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }

    @Test
    void factsAheadAreTheFactsReadOnAnotherThread() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2, "lo", 1), 2);
        Set<Thread> threads = ConcurrentHashMap.newKeySet();
        Supplier<HostFacts> ahead = common().factsAhead(recording(kernel, threads, null));
        HostFacts got = ahead.get();
        assertEquals(common().facts(kernel), got);
        assertEquals(Map.of("eth0", 2, "lo", 1), got.interfaces());
        assertFalse(threads.isEmpty());
        assertFalse(threads.contains(Thread.currentThread()), "the kernel was read on the caller's thread");
        assertSame(got, ahead.get());
    }

    @Test
    void aKernelFailureComesOutOfGetAsItself() {
        MemoryKernel kernel = new MemoryKernel(Map.of("eth0", 2), 2);
        IllegalStateException failure = new IllegalStateException("netlink dump failed");
        Supplier<HostFacts> ahead = common().factsAhead(recording(kernel, ConcurrentHashMap.newKeySet(), failure));
        assertSame(failure, assertThrows(IllegalStateException.class, ahead::get));
    }

    /**
     * The observation ahead of plan/apply reads the pins with no attach point and adds the points once the
     * policies are compiled: that must be what observing at the points at once reads, programs attached
     * (and the cgroups asked about, EgressTimeout's) included, also when nothing is applied yet.
     */
    @Test
    void observingAheadThenAtThePointsIsObservingAtThePoints() {
        java.nio.file.Path root = java.nio.file.Path.of("/sys/fs/bpf/bpfgit-test");
        for (String example : java.util.List.of("edge-filter", "egress-timeout", "blocklist")) {
            dev.bpfgit.source.Snapshot s = dev.bpfgit.source.DirectorySource.read(java.nio.file.Path.of("../examples", example));
            java.util.List<dev.bpfgit.policy.Policy> policies = dev.bpfgit.run.Pipeline.validate(s);
            Map<String, Integer> ifs = InMemoryHost.interfaces(policies);
            for (boolean applied : new boolean[]{false, true}) {
                MemoryKernel kernel = new MemoryKernel(ifs, 2);
                kernel.restoreCgroups(Map.of("/", 1L, "/system.slice", 2L, "/system.slice/crawler.service", 3L));
                HostFacts host = new HostFacts("web-1", Map.of(), ifs, java.util.Optional.of(kernel.cgroups()),
                        dev.bpfgit.kernel.Features.ALL);
                dev.bpfgit.compile.DesiredState desired = dev.bpfgit.compile.Compiler.compile(root, s.revision(),
                        policies, host);
                if (applied) {
                    InMemoryHost.applied(kernel, desired, java.time.Clock.systemUTC());
                }
                var points = dev.bpfgit.run.Pipeline.attachPoints(desired);
                assertFalse(points.isEmpty(), example);
                var atOnce = dev.bpfgit.observe.Observer.observe(kernel, root, points);
                var ahead = dev.bpfgit.observe.Observer.atPoints(dev.bpfgit.observe.Observer.observe(kernel, root, java.util.List.of()),
                        kernel, points);
                assertEquals(atOnce, ahead, example + (applied ? ", applied" : ", nothing applied"));
                assertEquals(atOnce.attached().keySet(), ahead.attached().keySet());
            }
        }
    }
}
