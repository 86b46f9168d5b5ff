package dev.bpfgit.kernel;

import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Everything observe and apply need from the kernel. Implemented by {@code LinuxKernel} (libbpf through the
 * FFM API) and by an in-memory kernel for unit tests and for plans against a state file.
 *
 * <p>Objects are named by their pin path. Methods that read return {@link Optional#empty()} when nothing is
 * pinned at the path; every other failure is a {@link KernelException} carrying operation, path and errno.
 * Implementations do not police the pin root: the caller checks paths stay under it.
 */
public interface Kernel {

    // ---- observe

    /** Every pin below {@code dir} (recursively), sorted by path; empty when {@code dir} does not exist. */
    List<Pin> pins(Path dir);

    /** {@code dir} and every directory below it, sorted; empty when {@code dir} does not exist. */
    List<Path> directories(Path dir);

    Optional<MapInfo> mapInfo(Path pin);

    /** All entries (batch lookup where the map type has it). Per-CPU values are all CPUs' slots concatenated. */
    List<Entry> entries(Path pin);

    /** {@link #entries} as a map sorted by key; an implementation may build it without an object per entry. */
    default SortedEntries sortedEntries(Path pin) {
        return SortedEntries.of(entries(pin));
    }

    /** A map's info and, when it was asked for, its entries sorted by key. */
    record MapRead(MapInfo info, Optional<SortedEntries> entries) {
    }

    /**
     * {@link #mapInfo} and, when {@code withEntries} accepts the info, {@link #sortedEntries} of the same map; an
     * implementation may read both through one open of the pin. Empty when nothing is pinned.
     */
    default Optional<MapRead> readMap(Path pin, Predicate<MapInfo> withEntries) {
        return mapInfo(pin).map(i -> new MapRead(i,
                withEntries.test(i) ? Optional.of(sortedEntries(pin)) : Optional.empty()));
    }

    /** One entry, or empty. In an LPM trie the kernel answers with the longest stored prefix that matches. */
    Optional<Bytes> lookup(Path pin, Bytes key);

    Optional<ProgramInfo> programInfo(Path pin);

    Optional<LinkInfo> linkInfo(Path pin);

    /** The programs the kernel runs at an attach point, ours or not. */
    List<AttachedProgram> attached(AttachPoint at);

    /** The interfaces of the caller's network namespace. */
    List<Interface> interfaces();

    /** Number of possible CPUs: the multiplier of per-CPU values. */
    int possibleCpus();

    // ---- apply

    /** Creates the directory and its parents in bpffs (mode 0700); no error if it exists. */
    void makeDirs(Path dir);

    /** Creates a map as specified (with BTF when the spec names types) and pins it. EEXIST if pinned. */
    void createMap(Path pin, MapSpec spec);

    /** Writes entries (BPF_ANY), batched. Values of per-CPU maps carry every CPU's slot. */
    void update(Path pin, Collection<Entry> entries);

    /** Deletes keys, batched; a key already absent is not an error. */
    void delete(Path pin, Collection<Bytes> keys);

    /**
     * Loads one program of an object with its maps bound to the given pins and pins it. If a program is
     * already pinned there, the pin is replaced atomically (rename in bpffs); links that run the old
     * program keep running it until {@link #updateLink} is called.
     */
    void loadProgram(Path pin, ProgramSpec spec);

    /** Creates a bpf_link running the pinned program at the attach point and pins the link. */
    void attach(Path linkPin, Path progPin, AttachPoint at);

    /**
     * Atomically makes the pinned link run the pinned program (BPF_LINK_UPDATE). With {@code expectedProgId}
     * present the update is a compare-and-swap (BPF_F_REPLACE) and fails with EPERM if the link runs another
     * program.
     */
    void updateLink(Path linkPin, Path progPin, Optional<Integer> expectedProgId);

    /** Removes a pin (an object dies with its last reference), or an empty directory. Absent: no error. */
    void unpin(Path pin);

    /** Renames a pin within bpffs, replacing the target if it exists. */
    void rename(Path from, Path to);

    /** BPF_PROG_TEST_RUN of a pinned program on one packet. */
    TestRun testRun(Path progPin, byte[] packet, int repeat);
}
