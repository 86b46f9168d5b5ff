package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AdoptedSocket;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.SocketProtocol;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /proc parsing and adoption of this JVM's own sockets: no root and no other process needed. */
class SocketsTest {
    @TempDir
    Path tmp;

    @Test
    void ipv6AddressesAreShownWithTheLongestZeroRunCompressed() {
        assertEquals("::1", Listener.host(InetAddress.ofLiteral("::1")));
        assertEquals("::", Listener.host(InetAddress.ofLiteral("::")));
        assertEquals("2001:db8::1:0:0:1", Listener.host(InetAddress.ofLiteral("2001:db8:0:0:1:0:0:1")));
        assertEquals("1:0:2:0:3:0:4:0", Listener.host(InetAddress.ofLiteral("1:0:2:0:3:0:4:0")));
        assertEquals("fe80::", Listener.host(InetAddress.ofLiteral("fe80::")));
        assertEquals("127.0.0.1", Listener.host(InetAddress.ofLiteral("127.0.0.1")));
        assertEquals("tcp [::1]:8080 (pid 1, fd 3)", new Listener(1, 3, 9, SocketProtocol.TCP,
                new InetSocketAddress(InetAddress.ofLiteral("::1"), 8080)).label());
    }

    @Test
    void procNetAddressesAreWordsInHostOrder() {
        assertEquals(new InetSocketAddress("127.0.0.1", 8080), Sockets.address("0100007F:1F90"));
        assertEquals(new InetSocketAddress("0.0.0.0", 53), Sockets.address("00000000:0035"));
        assertEquals(new InetSocketAddress("::1", 8080), Sockets.address("00000000000000000000000001000000:1F90"));
        assertEquals(new InetSocketAddress("2001:db8::2", 443), Sockets.address("B80D0120000000000000000002000000:01BB"));
    }

    @Test
    void pidFiles() throws Exception {
        Files.writeString(tmp.resolve("ok.pid"), " 123\n");
        assertEquals(123, Sockets.readPidFile(tmp.resolve("ok.pid")));
        Files.writeString(tmp.resolve("empty.pid"), "");
        KernelException empty = assertThrows(KernelException.class, () -> Sockets.readPidFile(tmp.resolve("empty.pid")));
        assertEquals("read pid file " + tmp.resolve("empty.pid") + ": EINVAL (Invalid argument): it holds nothing, not a pid",
                empty.getMessage());
        Files.writeString(tmp.resolve("neg.pid"), "-1");
        assertThrows(KernelException.class, () -> Sockets.readPidFile(tmp.resolve("neg.pid")));
        KernelException missing = assertThrows(KernelException.NotFound.class, () -> Sockets.readPidFile(tmp.resolve("no.pid")));
        assertEquals("read pid file " + tmp.resolve("no.pid") + ": ENOENT (No such file or directory)", missing.getMessage());
    }

    @Test
    void findsAndAdoptsAListenerOfThisProcess() throws Exception {
        int pid = (int) ProcessHandle.current().pid();
        try (ServerSocketChannel reuse = ServerSocketChannel.open();
             ServerSocketChannel plain = ServerSocketChannel.open()) {
            reuse.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            reuse.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = ((InetSocketAddress) reuse.getLocalAddress()).getPort();
            plain.bind(new InetSocketAddress("127.0.0.1", 0));
            int plainPort = ((InetSocketAddress) plain.getLocalAddress()).getPort();

            List<Listener> found = Sockets.listeners(pid, SocketProtocol.TCP, port, Optional.of(InetAddress.getLoopbackAddress()));
            assertEquals(1, found.size());
            Listener l = found.getFirst();
            assertEquals(new InetSocketAddress("127.0.0.1", port), l.local());
            assertEquals("socket:[" + l.inode() + "]", Files.readSymbolicLink(Path.of("/proc/self/fd/" + l.fd())).toString());
            try (AdoptedSocket a = Sockets.adopt(l)) {
                assertNotEquals(0, a.cookie());
                assertEquals(l, a.listener());
            }
            assertTrue(reuse.isOpen(), "closing the duplicate leaves the owner's socket open");

            KernelException noReuse = assertThrows(KernelException.class, () -> Sockets.adopt(
                    Sockets.listeners(pid, SocketProtocol.TCP, plainPort, Optional.empty()).getFirst()));
            assertTrue(noReuse.getMessage().contains("without SO_REUSEPORT"), noReuse.getMessage());
            assertThrows(KernelException.NotFound.class, () -> Sockets.listeners(pid, SocketProtocol.UDP, port, Optional.empty()));
        }
    }
}
