package dev.bpfgit.cli;

import dev.bpfgit.kernel.linux.Netns;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.file.Path;

/**
 * The demo's traffic, in Java so the demo needs no ping: a UDP echo server in one namespace and clients
 * bound to chosen source addresses in another. A socket belongs to the namespace of the thread that made it.
 */
final class DemoEcho implements AutoCloseable {
    static final int PORT = 7777;
    private final DatagramSocket server;
    private final Thread thread;

    /** Starts an echo server on every address of the namespace {@code ns}. */
    DemoEcho(Path ns) throws Exception {
        server = Netns.call(ns, () -> new DatagramSocket(new InetSocketAddress(InetAddress.getByName("::"), PORT)));
        thread = Thread.ofPlatform().daemon().name("demo-echo").start(() -> {
            byte[] buf = new byte[1500];
            while (!server.isClosed()) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    server.receive(p);
                    server.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                } catch (IOException e) {
                    return;   // closed
                }
            }
        });
    }

    /** Sends {@code count} datagrams from {@code source} (inside {@code ns}) to {@code target}; returns the echoes. */
    static int exchange(Path ns, String source, String target, int count) throws Exception {
        return Netns.call(ns, () -> {
            try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(source), 0))) {
                s.setSoTimeout(300);
                int echoed = 0;
                byte[] msg = ("bpfgit demo from " + source).getBytes();
                for (int i = 0; i < count; i++) {
                    s.send(new DatagramPacket(msg, msg.length, new InetSocketAddress(InetAddress.getByName(target), PORT)));
                    try {
                        s.receive(new DatagramPacket(new byte[1500], 1500));
                        echoed++;
                    } catch (SocketTimeoutException e) {
                        // dropped or redirected away
                    }
                }
                return echoed;
            }
        });
    }

    @Override
    public void close() throws InterruptedException {
        server.close();
        thread.join(1000);
    }
}
