package dev.bpfgit.kernel.linux;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

class NetnsTest {

    @Test
    void refusesVirtualThreadsWhoseCarrierCouldChange() throws Exception {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            try {
                Netns.call(Path.of("/proc/self/ns/net"), () -> "never");
            } catch (Throwable t) {
                thrown.set(t);
            }
        }).join();
        assertInstanceOf(IllegalStateException.class, thrown.get());
        assertEquals("Netns.call needs a platform thread; setns(2) applies to the carrier", thrown.get().getMessage());
    }
}
