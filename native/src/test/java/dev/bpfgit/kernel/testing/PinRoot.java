package dev.bpfgit.kernel.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/** A private pin directory {@code /sys/fs/bpf/bpfgit-test-<random>}, removed with everything in it on close. */
public final class PinRoot implements AutoCloseable {
    private final Path path;

    private PinRoot(Path path) {
        this.path = path;
    }

    public static PinRoot create() {
        byte[] r = new byte[6];
        ThreadLocalRandom.current().nextBytes(r);
        Path p = Path.of("/sys/fs/bpf", "bpfgit-test-" + HexFormat.of().formatHex(r));
        try {
            Files.createDirectory(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new PinRoot(p);
    }

    public Path path() {
        return path;
    }

    public Path resolve(String relative) {
        return path.resolve(relative);
    }

    /** Unpins everything below (deepest first); objects die with their last reference. */
    @Override
    public void close() {
        if (!Files.exists(path)) {
            return;
        }
        List<Path> all;
        try (Stream<Path> walk = Files.walk(path)) {
            all = walk.sorted(Comparator.reverseOrder()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Path p : all) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot clean up " + p, e);
            }
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
