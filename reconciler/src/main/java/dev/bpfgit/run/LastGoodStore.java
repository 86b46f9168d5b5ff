package dev.bpfgit.run;

import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.PolicyFiles;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.source.SourceException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * A copy of the policy files of the last revision a directory source had applied, kept in the state directory
 * ({@code source.lastGood}) so that a sidecar restarted while the directory is invalid, empty or unreadable can
 * enforce that revision again ({@link LastGood}); a directory keeps only its present files.
 *
 * <p>One subdirectory per pin root (two sidecars with two roots on one host do not overwrite each other's
 * copy), holding {@code current}, a symbolic link to {@code copy-*}: the files under {@code files/} at their
 * paths inside the source directory, and {@code source}, the directory they were read from. A save writes a
 * new {@code copy-*} in full (files synced) under a temporary name, renames it, then replaces {@code current}
 * by renaming a new link over it: a crash at any point leaves the previous copy or the new one, never a mix.
 * Everything is mode 0700 (directories) or 0600 (files), owned by the sidecar's user.
 *
 * <p>The copy is not trusted by its name: reading it is a directory read with a source's limits
 * ({@link DirectorySource}: file size, UTF-8, no links out, no special files), and its revision id is computed
 * again from what was read. Only a copy whose id equals the revision the pins record as applied is returned
 * (or the id earlier builds gave the same files, named from {@code source}: what an upgraded host records).
 */
public final class LastGoodStore {
    private static final Logger LOG = LoggerFactory.getLogger(LastGoodStore.class);
    private static final String CURRENT = "current";
    private static final String FILES = "files";
    private static final String SOURCE = "source";
    private static final int MAX_SOURCE_BYTES = 4096;
    private static final Set<PosixFilePermission> DIR = PosixFilePermissions.fromString("rwx------");
    private static final Set<PosixFilePermission> FILE = PosixFilePermissions.fromString("rw-------");

    private final Path dir;
    private final Path sourceDir;

    /**
     * @param lastGood  {@code source.lastGood}
     * @param root      the pin root whose applied revision the copy is of
     * @param sourceDir {@code source.path}, as the directory source names its files from it
     */
    public LastGoodStore(Path lastGood, Path root, Path sourceDir) {
        this.dir = directory(lastGood, root);
        this.sourceDir = sourceDir.toAbsolutePath().normalize();
    }

    /**
     * The subdirectory of {@code lastGood} for {@code root}: the root's path made one readable name, with a hash
     * of it so that two roots never share one ({@code /a-b} and {@code /a/b} read the same).
     */
    public static Path directory(Path lastGood, Path root) {
        String path = root.toAbsolutePath().normalize().toString();
        String readable = path.replaceAll("^/+", "").replaceAll("[^A-Za-z0-9._-]", "-");
        if (readable.length() > 80) {
            readable = readable.substring(readable.length() - 80);
        }
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(path.getBytes(StandardCharsets.UTF_8));
            return lastGood.resolve((readable.isEmpty() ? "root" : readable) + "." + HexFormat.of().formatHex(h, 0, 4));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Removes the copy kept for {@code root}, and {@code lastGood} itself when that leaves it empty: what
     * {@code destroy} does with the pins, as a copy is only ever enforced with the revision they record.
     *
     * @return the directory removed, empty when no copy was kept for {@code root}
     * @throws UncheckedIOException when it cannot be removed (what could be removed is)
     */
    public static Optional<Path> remove(Path lastGood, Path root) {
        Path d = directory(lastGood, root);
        if (!Files.exists(d, LinkOption.NOFOLLOW_LINKS)) {
            return Optional.empty();
        }
        try (Stream<Path> walk = Files.walk(d)) {   // links are removed, never followed
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("remove " + d + ": " + e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new UncheckedIOException("remove " + d + ": " + e.getCause().getMessage(), e.getCause());
        }
        try {
            Files.deleteIfExists(lastGood);
        } catch (DirectoryNotEmptyException e) {
            // another root's copy
        } catch (IOException e) {
            LOG.warn("remove {}: {}", lastGood, e.toString());
        }
        return Optional.of(d);
    }

    /** For logs: where the copy is. */
    String describe() {
        return "the copy in " + dir;
    }

    /**
     * Replaces the copy by {@code snapshot}'s files, atomically.
     *
     * @throws SourceException when it cannot be written (the previous copy, if any, stays), or a file is not
     *                         under the source directory or larger than a source may hold
     */
    void save(Snapshot snapshot) {
        Map<Path, String> files = new TreeMap<>();
        for (var f : snapshot.files().entrySet()) {
            Path name = Path.of(f.getKey()).normalize();
            if (!name.isAbsolute() || !name.startsWith(sourceDir) || name.equals(sourceDir)) {
                throw new SourceException("keep a copy of revision " + snapshot.revision() + ": " + f.getKey()
                        + " is not a file under " + sourceDir);
            }
            byte[] bytes = f.getValue().getBytes(StandardCharsets.UTF_8);
            PolicyFiles.tooLarge(f.getKey(), bytes.length).ifPresent(p -> {
                throw new SourceException("keep a copy of revision " + snapshot.revision() + ": " + p);
            });
            files.put(sourceDir.relativize(name), f.getValue());
        }
        Path tmp = null;
        try {
            ownDirectory(dir.getParent());
            ownDirectory(dir);
            tmp = Files.createTempDirectory(dir, ".tmp-", attr(DIR));
            write(tmp.resolve(SOURCE), sourceDir + "\n");
            Path under = Files.createDirectory(tmp.resolve(FILES), attr(DIR));
            for (var f : files.entrySet()) {
                Path p = under.resolve(f.getKey());
                Files.createDirectories(p.getParent(), attr(DIR));
                write(p, f.getValue());
            }
            syncTree(tmp);
            Path copy = dir.resolve("copy-" + System.currentTimeMillis() + "-"
                    + Integer.toHexString(ThreadLocalRandom.current().nextInt()));
            Files.move(tmp, copy, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
            Path link = dir.resolve(".current-" + Integer.toHexString(ThreadLocalRandom.current().nextInt()));
            Files.createSymbolicLink(link, copy.getFileName());
            Files.move(link, dir.resolve(CURRENT), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            sync(dir);
            removeAllBut(copy.getFileName());
            LOG.info("revision {}: a copy of its {} {} kept in {} (enforced after a restart while the directory is"
                    + " invalid)", snapshot.revision(), files.size(), files.size() == 1 ? "file" : "files", dir);
        } catch (IOException e) {
            throw new SourceException("keep a copy of revision " + snapshot.revision() + " in " + dir + ": "
                    + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                deleteTree(tmp);
            }
        }
    }

    /**
     * The kept copy, if it is of {@code revision}.
     *
     * @return empty when no copy is kept
     * @throws SourceException when the copy cannot be read, breaks a source's limits, or is of another revision
     *                         (its id computed from what was read); the message says which
     */
    Optional<Snapshot> read(String revision) {
        Path current = dir.resolve(CURRENT);
        if (!Files.isSymbolicLink(current)) {
            return Optional.empty();
        }
        Path copy;
        try {
            Path target = Files.readSymbolicLink(current);
            if (target.isAbsolute() || target.getNameCount() != 1 || !target.toString().startsWith("copy-")) {
                throw new SourceException(describe() + " is not one this sidecar wrote (current -> " + target + ")");
            }
            copy = dir.resolve(target);
            if (!Files.isDirectory(copy, LinkOption.NOFOLLOW_LINKS)) {
                throw new SourceException(describe() + ": " + target + " is not a directory");
            }
        } catch (IOException e) {
            throw new SourceException("read " + describe() + ": " + e.getMessage(), e);
        }
        String from = readSource(copy.resolve(SOURCE));
        Path fromDir = Path.of(from);
        Path under = copy.resolve(FILES);
        Snapshot read = DirectorySource.read(List.of(under));   // a source's limits, and its refusals
        Map<String, String> files = new TreeMap<>();
        read.files().forEach((name, text) -> files.put(fromDir.resolve(under.relativize(Path.of(name))).toString(),
                text));
        if (files.isEmpty()) {
            throw new SourceException(describe() + " holds no policy file");
        }
        // the copy holds the files at their names inside the directory, so its read's id is the directory's
        String id = read.revision();
        if (!id.equals(revision) && !DirectorySource.revisionOf(files).equals(revision)) {
            throw new SourceException(describe() + " is of revision " + id + " (files of " + from + "), not of "
                    + revision + ", the one the pins record as applied: it is not enforced");
        }
        // a host upgraded from a build whose ids hashed the names as the sidecar typed them records that older id:
        // the same files are enforced, and the reconcile records their id of now
        return Optional.of(new Snapshot(id, files));
    }

    private static String readSource(Path p) {
        byte[] b;
        try (InputStream in = Files.newInputStream(p, LinkOption.NOFOLLOW_LINKS)) {
            b = in.readNBytes(MAX_SOURCE_BYTES + 1);
        } catch (IOException e) {
            throw new SourceException("read " + p + ": " + e.getMessage(), e);
        }
        String s = new String(b, StandardCharsets.UTF_8).strip();
        if (b.length > MAX_SOURCE_BYTES || s.isEmpty() || !s.startsWith("/") || s.contains("\n")) {
            throw new SourceException(p + " does not name a directory");
        }
        return s;
    }

    /** Creates it 0700, or takes it if it is a directory of this user (made 0700); a link or another's is refused. */
    private static void ownDirectory(Path d) throws IOException {
        try {
            Files.createDirectories(d.getParent());
        } catch (FileAlreadyExistsException e) {
            throw new IOException(e.getFile() + " is not a directory");
        }
        try {
            Files.createDirectory(d, attr(DIR));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS)) {
                throw new IOException(d + " exists and is not a directory");
            }
            String owner = Files.getOwner(d, LinkOption.NOFOLLOW_LINKS).getName();
            if (!owner.equals(System.getProperty("user.name"))) {
                throw new IOException(d + " is owned by " + owner + ", not by " + System.getProperty("user.name"));
            }
        }
        Files.setPosixFilePermissions(d, DIR);
    }

    private static FileAttribute<Set<PosixFilePermission>> attr(Set<PosixFilePermission> perms) {
        return PosixFilePermissions.asFileAttribute(perms);
    }

    private static void write(Path p, String text) throws IOException {
        try (FileChannel ch = FileChannel.open(p, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS), attr(FILE))) {
            ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) {
                ch.write(b);
            }
            ch.force(true);
        }
    }

    /** fsync of every directory in the tree, so the renames that follow publish complete content. */
    private static void syncTree(Path top) throws IOException {
        try (Stream<Path> walk = Files.walk(top)) {
            for (Path d : (Iterable<Path>) walk.filter(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS))::iterator) {
                sync(d);
            }
        }
    }

    private static void sync(Path d) throws IOException {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Earlier copies and what an interrupted save left behind. */
    private void removeAllBut(Path keep) {
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir)) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                if (!n.equals(CURRENT) && !p.getFileName().equals(keep)) {
                    deleteTree(p);
                }
            }
        } catch (IOException e) {
            LOG.warn("remove earlier copies in {}: {}", dir, e.toString());
        }
    }

    private static void deleteTree(Path top) {
        try (Stream<Path> walk = Files.walk(top)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException | java.io.UncheckedIOException e) {
            LOG.warn("remove {}: {}", top, e.toString());
        }
    }
}
