package dev.bpfgit.observe;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.SortedEntries;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fingerprint of one unit as applied: its policy maps' entries, its programs' identities and whether
 * each link runs its pinned program. Apply records it (computed from what it wrote); status recomputes it
 * from the kernel, so drift is found without the source.
 */
public final class Fingerprint {
    private final Map<String, Map<Bytes, Bytes>> maps = new TreeMap<>();
    private final Map<String, String> programs = new TreeMap<>();
    private final Map<String, Boolean> links = new TreeMap<>();

    public Fingerprint map(String name, Map<Bytes, Bytes> entries) {
        maps.put(name, entries);
        return this;
    }

    public Fingerprint program(String name, String identity) {
        programs.put(name, identity);
        return this;
    }

    public Fingerprint link(String name, boolean runsPinnedProgram) {
        links.put(name, runsPinnedProgram);
        return this;
    }

    public String digest() {
        MessageDigest md = dev.bpfgit.compile.Sha256.fresh();
        maps.forEach((name, entries) -> {
            md.update(("map " + name + " " + entries.size() + "\n").getBytes(StandardCharsets.UTF_8));
            SortedEntries.copyOf(entries).digest(md);
        });
        programs.forEach((n, id) -> md.update(("prog " + n + " " + id + "\n").getBytes(StandardCharsets.UTF_8)));
        links.forEach((n, ok) -> md.update(("link " + n + " " + ok + "\n").getBytes(StandardCharsets.UTF_8)));
        return HexFormat.of().formatHex(md.digest());
    }

    /** The fingerprint of the unit in {@code dir} as the kernel has it now. */
    public static String live(LiveState live, Path dir) {
        Fingerprint f = new Fingerprint();
        live.maps().values().stream().filter(m -> dir.equals(m.pin().getParent()) && m.entries().isPresent())
                .forEach(m -> f.map(m.pin().getFileName().toString(), m.entries().get()));
        live.programs().values().stream().filter(p -> dir.equals(p.pin().getParent()))
                .forEach(p -> f.program(p.pin().getFileName().toString(), p.identity().orElse("unknown")));
        live.links().values().stream().filter(l -> dir.equals(l.pin().getParent())).forEach(l -> {
            boolean ok = !l.info().defunct() && live.programs().values().stream()
                    .anyMatch(p -> dir.equals(p.pin().getParent()) && p.info().id() == l.info().progId());
            f.link(l.pin().getFileName().toString(), ok);
        });
        return f.digest();
    }
}
