package dev.bpfgit.compile;

import dev.bpfgit.kernel.ObjectFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The BPF objects built from {@code bpf/} and shipped inside the jar, so running bpfgit needs no compiler. */
public final class Objects {
    private static final Map<String, ObjectFile> CACHE = new ConcurrentHashMap<>();

    private Objects() {
    }

    /** e.g. {@code get("traffic.bpf.o")}. */
    public static ObjectFile get(String name) {
        return CACHE.computeIfAbsent(name, n -> {
            try (InputStream in = Objects.class.getClassLoader().getResourceAsStream("bpf/" + n)) {
                if (in == null) {
                    throw new IllegalStateException("BPF object bpf/" + n + " is not on the classpath; run make -C bpf");
                }
                return new ObjectFile(n, in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException("read BPF object " + n, e);
            }
        });
    }
}
