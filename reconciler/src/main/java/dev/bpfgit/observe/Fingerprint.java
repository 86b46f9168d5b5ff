package dev.bpfgit.observe;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.SortedEntries;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The fingerprint of one unit as applied: its policy maps' entries, its programs' identities and whether
 * each link runs its pinned program. Apply records it (computed from what it wrote); status recomputes it
 * from the kernel, so drift is found without the source.
 */
public final class Fingerprint {
    /** The prefix of a fingerprint recorded in the current form ({@link #digest}). */
    public static final String V2 = "v2:";

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

    /**
     * The fingerprint as this version records it: {@value #V2} and the SHA-256 of a summary in which each map's
     * entries are a CRC-32C and a CRC-32 of its keys' bytes and the same two of its values' bytes (the packed arrays in
     * key order, and the entries' sizes: each map's one key and value size, or every entry's), 64 bits per array. The
     * same SHA-256 over the entries' own bytes ({@link #digestV1}) was about 40% of a 10k-entry diff; the two CRCs are
     * intrinsics that read 320 KB in a few microseconds. The fingerprint tells status and the next plan whether a unit
     * is as applied; it is no protection against someone who means to hide a change: whoever can write a unit's maps
     * can write the bookkeeping map beside them, so a cryptographic hash of the entries bought nothing over 64 bits
     * of checksum per array against an accidental change.
     */
    public String digest() {
        MessageDigest md = dev.bpfgit.compile.Sha256.fresh();
        md.update("fingerprint v2\n".getBytes(StandardCharsets.UTF_8));
        ByteBuffer sums = ByteBuffer.allocate(4 * Integer.BYTES);
        maps.forEach((name, entries) -> {
            SortedEntries s = SortedEntries.copyOf(entries);
            int n = s.size();
            StringBuilder header = new StringBuilder("map ").append(name).append(' ').append(n);
            int k = n == 0 ? 0 : s.keySize(0);
            int v = n == 0 ? 0 : s.valueSize(0);
            // every key of one size and every value of one size; SortedEntries knows (a pass once per entries)
            boolean uniform = n == 0 || s.fixedKeySize() >= 0 && s.fixedValueSize() >= 0;
            if (uniform) {
                header.append(" fixed ").append(k).append(' ').append(v);
            } else {
                header.append(" sized");
            }
            md.update(header.append('\n').toString().getBytes(StandardCharsets.UTF_8));
            if (!uniform) {
                ByteBuffer sizes = ByteBuffer.allocate(2 * Integer.BYTES * n);
                for (int i = 0; i < n; i++) {
                    sizes.putInt(s.keySize(i)).putInt(s.valueSize(i));
                }
                md.update(sizes.array());
            }
            // the keys' two checksums are kept with the keys: a compiled revision's, once (SortedEntries)
            long keys = s.keyChecksums();
            long values = s.valueChecksums();
            sums.clear();
            sums.putInt((int) (keys >>> 32)).putInt((int) keys).putInt((int) (values >>> 32)).putInt((int) values);
            md.update(sums.array());
        });
        programs.forEach((n, id) -> md.update(("prog " + n + " " + id + "\n").getBytes(StandardCharsets.UTF_8)));
        links.forEach((n, ok) -> md.update(("link " + n + " " + ok + "\n").getBytes(StandardCharsets.UTF_8)));
        return V2 + HexFormat.of().formatHex(md.digest());
    }

    /**
     * The fingerprint as versions before {@value #V2} recorded it: the SHA-256 of every entry's bytes. Hosts keep
     * such records until their unit next changes ({@link #toRecord}), and status still checks them.
     */
    public String digestV1() {
        MessageDigest md = dev.bpfgit.compile.Sha256.fresh();
        maps.forEach((name, entries) -> {
            md.update(("map " + name + " " + entries.size() + "\n").getBytes(StandardCharsets.UTF_8));
            SortedEntries.copyOf(entries).digest(md);
        });
        programs.forEach((n, id) -> md.update(("prog " + n + " " + id + "\n").getBytes(StandardCharsets.UTF_8)));
        links.forEach((n, ok) -> md.update(("link " + n + " " + ok + "\n").getBytes(StandardCharsets.UTF_8)));
        return HexFormat.of().formatHex(md.digest());
    }

    /** Whether {@code recorded}, in either form, is this fingerprint. */
    public boolean matches(String recorded) {
        return recorded.startsWith(V2) ? recorded.equals(digest()) : recorded.equals(digestV1());
    }

    /**
     * What apply records for this fingerprint, given what the bookkeeping holds: a record in the old form that is
     * still this fingerprint is kept as it is, so that the first plan after an upgrade of a host that is in sync
     * writes nothing (its bookkeeping included); anything else is recorded as {@link #digest}.
     */
    public String toRecord(Optional<String> recorded) {
        if (recorded.isPresent() && !recorded.get().startsWith(V2) && recorded.get().equals(digestV1())) {
            return recorded.get();
        }
        return digest();
    }

    /** The fingerprint of the unit in {@code dir} as the kernel has it now, as {@link #digest}. */
    public static String live(LiveState live, Path dir) {
        return of(live, dir).digest();
    }

    /** Whether {@code recorded}, in either form, is the fingerprint of the unit in {@code dir} as the kernel has it now. */
    public static boolean liveMatches(LiveState live, Path dir, String recorded) {
        return of(live, dir).matches(recorded);
    }

    private static Fingerprint of(LiveState live, Path dir) {
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
        return f;
    }
}
