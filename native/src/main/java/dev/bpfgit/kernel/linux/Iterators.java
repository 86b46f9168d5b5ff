package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramSpec;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/** BPF iterators: an iter link for a pinned program, and one run of it (BPF_ITER_CREATE + read to EOF). */
final class Iterators {
    /** enum bpf_attach_type BPF_TRACE_ITER. */
    static final int BPF_TRACE_ITER = 28;
    private static final int EINTR = 4;
    private static final int EAGAIN = 11;
    private static final int CHUNK = 64 * 1024;

    private static final MethodHandle READ = Libbpf.LINKER.downcallHandle(
            Libbpf.LINKER.defaultLookup().findOrThrow("read"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG),
            Linker.Option.captureCallState("errno"));

    private Iterators() {
    }

    static void attach(Path linkPin, Path progPin) {
        try (Fd prog = Pins.open(progPin, PinType.PROG, "open program");
             Fd link = Fd.own(Failures.check(Libbpf.linkCreate(prog.value(), 0, BPF_TRACE_ITER, MemorySegment.NULL),
                     "attach iterator link", linkPin))) {
            Pins.pin(link.value(), linkPin, "pin link");
        }
    }

    static byte[] run(Path iterPin, Optional<Path> netns) {
        return netns.isEmpty() ? runHere(iterPin) : inNetns(netns.get(), () -> runHere(iterPin));
    }

    /**
     * {@code body} with the calling thread in the namespace; from a virtual thread on a platform thread, since
     * setns(2) moves one kernel thread and a virtual thread may change carriers.
     */
    static <T> T inNetns(Path netns, java.util.function.Supplier<T> body) {
        if (!Thread.currentThread().isVirtual()) {
            return callIn(netns, body);
        }
        AtomicReference<T> out = new AtomicReference<>();
        AtomicReference<RuntimeException> failure = new AtomicReference<>();
        Thread t = Thread.ofPlatform().name("bpfgit-netns").start(() -> {
            try {
                out.set(callIn(netns, body));
            } catch (RuntimeException e) {
                failure.set(e);
            }
        });
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while working in " + netns, e);
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        return out.get();
    }

    private static <T> T callIn(Path netns, java.util.function.Supplier<T> body) {
        try {
            return Netns.call(netns, body::get);
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e); // a Supplier throws nothing checked
        }
    }

    /** Programs loaded for {@link #run(List, Optional)}, with the ids of the maps they were bound to. */
    private record Loaded(BpfObject object, Map<String, Integer> mapIds) {
    }

    private static final Map<String, Loaded> LOADED = new HashMap<>();

    /**
     * One run of each program, loaded from their common object with its maps bound to the pins and kept
     * loaded (unpinned) for the next call while the pins hold the same maps.
     */
    static List<byte[]> run(List<ProgramSpec> specs, Optional<Path> netns) {
        if (specs.isEmpty()) {
            return List.of();
        }
        ProgramSpec first = specs.getFirst();
        for (ProgramSpec s : specs) {
            if (!s.object().equals(first.object()) || !s.maps().equals(first.maps())) {
                throw new IllegalArgumentException("programs of one object with the same maps, not " + specs);
            }
        }
        List<String> names = specs.stream().map(ProgramSpec::program).toList();
        String key = first.object().sha256() + ":" + String.join(",", names) + ":" + new TreeMap<>(first.maps());
        synchronized (LOADED) {
            Map<String, Integer> ids = mapIds(first.maps());
            Loaded l = LOADED.get(key);
            if (l == null || !l.mapIds().equals(ids)) {
                if (l != null) {
                    l.object().close();
                    LOADED.remove(key);
                }
                l = new Loaded(Loader.loadUnpinned(first, names), ids);
                LOADED.put(key, l);
            }
            BpfObject object = l.object();
            java.util.function.Supplier<List<byte[]>> body = () -> {
                List<byte[]> out = new ArrayList<>();
                for (String name : names) {
                    Path what = Path.of(first.object().name(), name);
                    try (Fd link = Fd.own(Failures.check(Libbpf.linkCreate(Loader.programFd(object, name), 0,
                            BPF_TRACE_ITER, MemorySegment.NULL), "attach iterator link", what))) {
                        out.add(drain(link.value(), what));
                    }
                }
                return out;
            };
            return netns.isEmpty() ? body.get() : inNetns(netns.get(), body);
        }
    }

    /**
     * One run of each program of {@code file}, its maps pinned or made for this call (filled, never pinned) as
     * {@code maps} says; everything it made is closed before it returns, so the temporary maps die with it.
     */
    static List<byte[]> run(dev.bpfgit.kernel.ObjectFile file, List<String> programs,
                            Map<String, dev.bpfgit.kernel.MapSource> maps, Optional<Path> netns, int cpus) {
        List<Fd> open = new ArrayList<>();
        try (BpfObject object = BpfObject.open(file)) {
            java.util.Set<String> unused = new java.util.TreeSet<>(maps.keySet());
            for (BpfObject.DeclaredMap m : object.maps()) {
                dev.bpfgit.kernel.MapSource source = maps.get(m.name());
                unused.remove(m.name());
                if (source == null) {
                    if (m.internal()) {
                        continue;   // .rodata, .kconfig: constants of the program
                    }
                    throw Failures.of("load programs of", file.name(), Failures.EINVAL,
                            "the object declares map '" + m.name() + "' but none is given for it");
                }
                Path what = Path.of(file.name(), m.name());
                Fd fd = switch (source) {
                    case dev.bpfgit.kernel.MapSource.Pinned p -> Pins.open(p.pin(), PinType.MAP, "open map '" + m.name() + "'");
                    case dev.bpfgit.kernel.MapSource.Temporary t -> Fd.own(Loader.createMapFd(what, t.spec()));
                };
                open.add(fd);
                if (source instanceof dev.bpfgit.kernel.MapSource.Temporary t && !t.entries().isEmpty()) {
                    new MapAccess(fd.value(), what, Info.map(fd.value(), what), cpus).update(t.entries().entrySet()
                            .stream().map(e -> new dev.bpfgit.kernel.Entry(e.getKey(), e.getValue())).toList());
                }
                Loader.bind(object, m, fd.value(), what);
            }
            if (!unused.isEmpty()) {
                throw Failures.of("load programs of", file.name(), Failures.EINVAL,
                        "the object declares no map named " + String.join(", ", unused));
            }
            Loader.load(object, programs);
            // the object's memory is this thread's: take the descriptors before a namespace switch
            List<Integer> fds = programs.stream().map(name -> Loader.programFd(object, name)).toList();
            java.util.function.Supplier<List<byte[]>> body = () -> {
                List<byte[]> out = new ArrayList<>();
                for (int i = 0; i < fds.size(); i++) {
                    Path what = Path.of(file.name(), programs.get(i));
                    try (Fd link = Fd.own(Failures.check(Libbpf.linkCreate(fds.get(i), 0, BPF_TRACE_ITER,
                            MemorySegment.NULL), "attach iterator link", what))) {
                        out.add(drain(link.value(), what));
                    }
                }
                return out;
            };
            return netns.isEmpty() ? body.get() : inNetns(netns.get(), body);
        } finally {
            open.forEach(Fd::close);
        }
    }

    private static Map<String, Integer> mapIds(Map<String, Path> maps) {
        Map<String, Integer> ids = new TreeMap<>();
        maps.forEach((name, pin) -> {
            try (Fd fd = Pins.open(pin, PinType.MAP, "open map '" + name + "'")) {
                ids.put(name, Info.map(fd.value(), pin).id());
            }
        });
        return ids;
    }

    private static byte[] runHere(Path iterPin) {
        int r = Pins.objGet(iterPin);
        try (Fd pinned = Fd.own(Failures.check(r, "open iterator", iterPin))) {
            PinType type = Pins.kind(pinned.value());
            if (type == PinType.LINK) {
                return drain(pinned.value(), iterPin);
            }
            if (type != PinType.PROG) {
                throw Failures.of("open iterator", iterPin, Failures.EINVAL, "pinned object is neither a link nor a program");
            }
            try (Fd link = Fd.own(Failures.check(
                    Libbpf.linkCreate(pinned.value(), 0, BPF_TRACE_ITER, MemorySegment.NULL),
                    "attach iterator link", iterPin))) {
                return drain(link.value(), iterPin);
            }
        }
    }

    private static byte[] drain(int linkFd, Path what) {
        try (Fd iter = Fd.own(Failures.check(Libbpf.iterCreate(linkFd), "create iterator", what));
             Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(CHUNK);
            MemorySegment state = arena.allocate(Libbpf.ERRNO_STATE);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            while (true) {
                long n;
                try {
                    n = (long) READ.invokeExact(state, iter.value(), buf, (long) CHUNK);
                } catch (Throwable t) {
                    throw Libbpf.rethrow(t);
                }
                if (n == 0) {
                    return out.toByteArray();
                }
                if (n < 0) {
                    int errno = Libbpf.errno(state);
                    if (errno == EINTR || errno == EAGAIN) {
                        continue;
                    }
                    throw Failures.of("read iterator", what, errno, null);
                }
                out.write(buf.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), 0, (int) n);
            }
        }
    }

}
