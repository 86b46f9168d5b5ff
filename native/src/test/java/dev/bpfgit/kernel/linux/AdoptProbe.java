package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.AdoptedSocket;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.SocketProtocol;

import java.net.InetSocketAddress;

/**
 * Adopts one socket and prints the outcome: run by {@link ReuseportIT} as a separate process with fewer
 * capabilities, since a JVM cannot drop a capability for one call.
 */
public final class AdoptProbe {
    private AdoptProbe() {
    }

    public static void main(String[] args) {
        Listener l = new Listener(Integer.parseInt(args[0]), Integer.parseInt(args[1]), Long.parseLong(args[2]),
                SocketProtocol.TCP, new InetSocketAddress("127.0.0.1", 18091));
        try (AdoptedSocket s = new LinuxKernel().adopt(l)) {
            System.out.println("adopted cookie " + s.cookie());
        } catch (KernelException e) {
            System.out.println(e.getClass().getSimpleName() + " " + e.getMessage());
        }
    }
}
