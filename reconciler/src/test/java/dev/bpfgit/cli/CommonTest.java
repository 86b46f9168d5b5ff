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
}
