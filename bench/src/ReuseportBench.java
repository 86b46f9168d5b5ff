import dev.bpfgit.kernel.AdoptedSocket;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.Listener;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.kernel.SocketProtocol;
import dev.bpfgit.kernel.linux.LinuxKernel;
import dev.bpfgit.kernel.linux.Netns;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * bench/reuseport's driver (see bench/README.md): a rolling restart of an SO_REUSEPORT group under load, with
 * bpfgit's selector (reuseport.bpf.o, the migrate program, weighted over equal weights) and with plain
 * SO_REUSEPORT (no program, net.ipv4.tcp_migrate_req=0 as on a fresh namespace), one after the other in the
 * same run. Client threads inside the namespace open new connections continuously and read the member's
 * name; the members are killed (SIGTERM) and restarted one after another. With the program, an adoption loop
 * (what `bpfgit run` will do) polls every --poll-ms for members whose listener is not the one in the SOCKMAP,
 * adopts it (pidfd_getfd), puts it in the map, re-attaches the program and lets go of the duplicate.
 *
 * <p>{@code java --source 25 -cp CLASSPATH bench/src/ReuseportBench.java --netns /run/netns/X --root PINDIR
 * --object bpf/reuseport.bpf.o --member bench/src/reuseport_member.py [--members 3] [--restarts 20]
 * [--clients 4] [--work-ms 1] [--poll-ms 200] [--settle-ms 300]}. Markdown on stdout, progress on stderr.
 */
public final class ReuseportBench {
    static final int MAX_MEMBERS = 32;
    /** RP_SLOTS of bpf/include/reuseport.h: SOCKMAP keys per member (member * SLOTS + slot). */
    static final int SLOTS = 16;

    static Path netns;
    static Path root;
    static Path object;
    static Path memberScript;
    static int members = 3;
    static int restarts = 20;
    static int clients = 4;
    static int workMs = 1;
    static int pollMs = 200;
    static int settleMs = 300;

    public static void main(String[] args) throws Exception {
        for (int i = 0; i < args.length; i += 2) {
            String v = args[i + 1];
            switch (args[i]) {
                case "--netns" -> netns = Path.of(v);
                case "--root" -> root = Path.of(v);
                case "--object" -> object = Path.of(v);
                case "--member" -> memberScript = Path.of(v);
                case "--members" -> members = Integer.parseInt(v);
                case "--restarts" -> restarts = Integer.parseInt(v);
                case "--clients" -> clients = Integer.parseInt(v);
                case "--work-ms" -> workMs = Integer.parseInt(v);
                case "--poll-ms" -> pollMs = Integer.parseInt(v);
                case "--settle-ms" -> settleMs = Integer.parseInt(v);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        Result withProgram = run(true, 19100);
        Result plain = run(false, 19200);
        System.out.printf(Locale.ROOT, "| setup | restarts | connections attempted | answered | failed (refused, timed out) | reset (RST or closed unanswered) | migrated by the program | duration s |%n");
        System.out.printf("|---|---:|---:|---:|---:|---:|---:|---:|%n");
        for (Result r : List.of(withProgram, plain)) {
            System.out.printf(Locale.ROOT, "| %s | %d | %d | %d | %d | %d | %s | %.1f |%n", r.setup, restarts, r.attempted,
                    r.answered, r.failed, r.reset, r.migrated < 0 ? "n/a" : Long.toString(r.migrated), r.seconds);
        }
        long[] lat = withProgram.adoptionMs.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.println();
        System.out.printf(Locale.ROOT, "Adoption, from a restarted member's listener being up (its \"ready\" line) to its socket in the"
                        + " SOCKMAP with the program re-attached, adoption loop polling every %d ms, %d restarts: median %d ms,"
                        + " max %d ms, min %d ms. Each member got new connections only after its adoption.%n",
                pollMs, lat.length, lat.length == 0 ? -1 : lat[lat.length / 2], lat.length == 0 ? -1 : lat[lat.length - 1],
                lat.length == 0 ? -1 : lat[0]);
        if (!withProgram.errors.isEmpty() || !plain.errors.isEmpty()) {
            System.out.println();
            System.out.println("Client errors by message: with the program " + withProgram.errors + "; plain " + plain.errors);
        }
    }

    record Result(String setup, long attempted, long answered, long failed, long reset, long migrated, double seconds,
                  List<Long> adoptionMs, Map<String, Long> errors) {
    }

    /** One member slot: its current process and, with the program, the cookie of its socket in the map. */
    static final class Slot {
        volatile Process process;
        volatile long readyNanos;
        volatile long adoptedCookie;
    }

    static Result run(boolean program, int port) throws Exception {
        LinuxKernel kernel = new LinuxKernel();
        Path dir = root.resolve(program ? "migrate" : "plain");
        Map<String, Path> maps = Map.of("rp_sockets", dir.resolve("rp_sockets"), "rp_config", dir.resolve("rp_config"),
                "rp_counters", dir.resolve("rp_counters"));
        if (program) {
            ObjectFile obj = new ObjectFile("reuseport.bpf.o", Files.readAllBytes(object));
            kernel.makeDirs(dir);
            kernel.createMap(maps.get("rp_sockets"), new MapSpec("rp_sockets", MapType.SOCKMAP, 4, 8, MAX_MEMBERS * SLOTS, 0, Optional.empty()));
            kernel.createMap(maps.get("rp_config"), new MapSpec("rp_config", MapType.ARRAY, 4, 176, 1, 0,
                    Optional.of(new BtfTypes(obj, "__u32", "struct rp_config"))));
            kernel.createMap(maps.get("rp_counters"), new MapSpec("rp_counters", MapType.PERCPU_ARRAY, 4, 16, MAX_MEMBERS + 1, 0,
                    Optional.of(new BtfTypes(obj, "__u32", "struct rp_counter"))));
            kernel.loadProgram(dir.resolve("prog"), new ProgramSpec(obj, "reuseport_migrate", maps));
            ByteBuffer cfg = ByteBuffer.allocate(176).order(ByteOrder.LITTLE_ENDIAN);
            cfg.putInt(0, 1).putInt(4, members).putInt(8, members);   // weighted, weight 1 each
            for (int i = 0; i < members; i++) {
                cfg.putInt(16 + 4 * i, i + 1);
            }
            kernel.update(maps.get("rp_config"), List.of(new Entry(Bytes.wrap(new byte[4]), Bytes.wrap(cfg.array()))));
        }
        Slot[] slots = new Slot[members];
        for (int i = 0; i < members; i++) {
            slots[i] = new Slot();
            start(slots[i], "m" + i, port);
        }
        List<Long> adoption = new ArrayList<>();
        AtomicBoolean stop = new AtomicBoolean();
        Thread adopter = null;
        if (program) {
            adoptAll(kernel, slots, port, maps.get("rp_sockets"), dir.resolve("prog"), adoption);
            adoption.clear();   // the initial adoption is not a restart
            Thread t = new Thread(() -> {
                while (!stop.get()) {
                    try {
                        adoptAll(kernel, slots, port, maps.get("rp_sockets"), dir.resolve("prog"), adoption);
                        Thread.sleep(pollMs);
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException e) {
                        System.err.println("reuseport bench: adoption: " + e.getMessage());
                    }
                }
            }, "adopter");
            t.start();
            adopter = t;
        }
        LongAdder attempted = new LongAdder();
        LongAdder answered = new LongAdder();
        LongAdder failed = new LongAdder();
        LongAdder reset = new LongAdder();
        Map<String, Long> errors = new ConcurrentHashMap<>();
        List<Thread> load = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            Thread t = new Thread(() -> Netns.run(netns, () -> {
                while (!stop.get()) {
                    attempted.increment();
                    try (Socket s = new Socket()) {
                        s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
                        s.setSoTimeout(5000);
                        byte[] name = s.getInputStream().readAllBytes();
                        if (name.length > 0) {
                            answered.increment();
                        } else {
                            reset.increment();
                            errors.merge("closed without an answer", 1L, Long::sum);
                        }
                    } catch (ConnectException | SocketTimeoutException e) {
                        failed.increment();
                        errors.merge(e.getMessage(), 1L, Long::sum);
                    } catch (SocketException e) {
                        reset.increment();
                        errors.merge(e.getMessage(), 1L, Long::sum);
                    } catch (IOException e) {
                        failed.increment();
                        errors.merge(e.toString(), 1L, Long::sum);
                    }
                }
            }), "client-" + c);
            t.start();
            load.add(t);
        }
        long t0 = System.nanoTime();
        Thread.sleep(settleMs);
        for (int r = 0; r < restarts; r++) {
            Slot s = slots[r % members];
            s.process.destroy();   // SIGTERM: python exits, the kernel closes its listener with whatever is queued
            s.process.waitFor(10, TimeUnit.SECONDS);
            start(s, "m" + (r % members), port);
            System.err.printf("reuseport bench (%s): restart %d of m%d%n", program ? "program" : "plain", r + 1, r % members);
            Thread.sleep(settleMs);
            if (program) {
                // the next restart waits for this member's adoption, as a rolling restart waits for readiness
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (s.adoptedCookie == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(10);
                }
            }
        }
        Thread.sleep(settleMs);
        stop.set(true);
        for (Thread t : load) {
            t.join();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (adopter != null) {
            adopter.interrupt();
            adopter.join();
        }
        long migrated = -1;
        if (program) {
            migrated = 0;
            for (int i = 0; i <= MAX_MEMBERS; i++) {
                ByteBuffer v = ByteBuffer.wrap(kernel.lookup(maps.get("rp_counters"),
                        Bytes.wrap(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(i).array())).orElseThrow().toArray())
                        .order(ByteOrder.LITTLE_ENDIAN);
                for (int cpu = 0; cpu < kernel.possibleCpus(); cpu++) {
                    migrated += v.getLong(cpu * 16 + 8);
                }
            }
        }
        for (Slot s : slots) {
            s.process.destroyForcibly();
            s.process.waitFor(10, TimeUnit.SECONDS);
        }
        return new Result(program ? "bpfgit selector (sk_reuseport/migrate, weighted 1:1:1)" : "plain SO_REUSEPORT (no program, tcp_migrate_req=0)",
                attempted.sum(), answered.sum(), failed.sum(), reset.sum(), migrated, seconds, adoption, new java.util.TreeMap<>(errors));
    }

    static void start(Slot slot, String name, int port) throws IOException {
        Process p = new ProcessBuilder("nsenter", "--net=" + netns, "python3", memberScript.toString(), name,
                Integer.toString(port), Integer.toString(workMs)).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        if (line == null || !line.equals("ready")) {
            throw new IllegalStateException(name + " did not start: " + line);
        }
        slot.adoptedCookie = 0;
        slot.readyNanos = System.nanoTime();
        slot.process = p;
    }

    /** One pass of the adoption loop: every member whose listener is not the one in the map is adopted. */
    static void adoptAll(LinuxKernel kernel, Slot[] slots, int port, Path sockmap, Path prog, List<Long> adoptionMs) {
        SortedMap<Integer, Long> live = kernel.sockets(sockmap);
        for (int i = 0; i < slots.length; i++) {
            Slot s = slots[i];
            Process p = s.process;
            if (s.adoptedCookie != 0 && live.containsKey(i * SLOTS) && live.get(i * SLOTS) == s.adoptedCookie) {
                continue;
            }
            try {
                Listener l = kernel.listeners((int) p.pid(), SocketProtocol.TCP, port,
                        Optional.of(InetAddress.getLoopbackAddress())).getFirst();
                try (AdoptedSocket a = kernel.adopt(l)) {
                    // as bpfgit's runtime does: the member's listener in each of its slots
                    for (int slot = 0; slot < SLOTS; slot++) {
                        kernel.putSocket(sockmap, i * SLOTS + slot, a);
                    }
                    kernel.attachReuseport(prog, a);
                    if (s.process == p) {
                        s.adoptedCookie = a.cookie();
                        synchronized (adoptionMs) {
                            adoptionMs.add((System.nanoTime() - s.readyNanos) / 1_000_000);
                        }
                    }
                }
            } catch (KernelException e) {
                // a member between its exit and its restart: the next pass tries again
            }
        }
    }
}
