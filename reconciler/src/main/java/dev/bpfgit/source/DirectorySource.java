package dev.bpfgit.source;

import dev.bpfgit.kernel.linux.BulkSha256;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Reads policy files from directories and files on disk into one {@link Snapshot}.
 * <p>
 * A directory is searched recursively for {@code *.yaml} and {@code *.yml}; names starting with a dot are
 * skipped, files and directories alike, which also skips the {@code ..data} machinery of a mounted Kubernetes
 * ConfigMap while its symlinked files are read. A file given by name is read whatever its extension.
 * Files are named as the user would find them: the path given joined with the path inside it. The revision id
 * is computed from the names inside the paths given (a file named on its own: its file name) and the contents,
 * so {@code plan q}, {@code plan /abs/q}, a link to {@code q} and the sidecar's {@code source.path} give one id.
 * <p>
 * A directory is a repository that others write to, so what it holds is not trusted: a symbolic link is
 * followed only to a file inside the directory (a link to {@code /etc/shadow} is refused by its own name,
 * and the target is never opened), a FIFO, device or socket with a policy name is refused without being
 * opened (opening a FIFO blocks), and no file larger than {@link PolicyFiles#MAX_BYTES} is read.
 * Symbolic links to directories are not entered. Every such file is reported, not only the first.
 */
public final class DirectorySource {
    private DirectorySource() {
    }

    public static Snapshot read(Path... paths) {
        return read(List.of(paths));
    }

    /**
     * @throws InvalidFilesException if files are refused (not UTF-8, too large, a link out of the directory,
     *                               not a regular file)
     * @throws SourceException       if a path is missing or a file cannot be read
     */
    public static Snapshot read(List<Path> paths) {
        return readFiles(paths).snapshot();
    }

    /**
     * The files of a read and, computed only when asked, the revision {@link #read} gives them. A read that
     * git names (a checkout: {@link GitRevisionSource#named(Path, Read)}) needs no digest of the files: a
     * SHA-256 of every byte read, about 40 ms of CPU at 100,000 rules for a cold {@code plan} or {@code apply}.
     */
    public record Read(Map<String, String> files, java.util.function.Supplier<String> revision) {
        public Snapshot snapshot() {
            return new Snapshot(revision.get(), files);
        }
    }

    /** As {@link #read(List)}, with the revision left to the caller to ask for. */
    public static Read readFiles(List<Path> paths) {
        Map<String, String> files = new TreeMap<>();
        Map<String, byte[]> bytes = new TreeMap<>();   // what was read, for the revision without encoding it again
        Map<String, String> inside = new HashMap<>();  // each file's name inside the path it was found under
        List<FileProblem> problems = new ArrayList<>();
        for (Path given : paths) {
            Path base = given.normalize();
            if (!Files.exists(given)) {
                throw new SourceException("read " + given + ": no such file or directory");
            }
            if (Files.isDirectory(given)) {
                Path root = realPath(given, given);
                for (Path file : list(given)) {
                    Path relative = given.relativize(file);
                    String name = name(base.resolve(relative));
                    inside.putIfAbsent(name, relative.toString());   // a file reached twice counts as first found
                    read(root, file, name, files, bytes, problems);
                }
            } else {
                // named by the user, so a link is theirs to follow; what kind of file it is still matters
                inside.putIfAbsent(name(base), given.getFileName().toString());
                read(null, given, name(base), files, bytes, problems);
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidFilesException(problems.stream().sorted(Comparator.comparing(FileProblem::file)).toList());
        }
        List<Map.Entry<String, byte[]>> named = new ArrayList<>(bytes.size());
        bytes.forEach((name, content) -> named.add(Map.entry(inside.get(name), content)));
        return new Read(files, () -> "dir:" + revisionOfBytes(named));
    }

    /** @param root the real path a link must stay inside, or null for a file named on the command line */
    private static void read(Path root, Path file, String name, Map<String, String> files, Map<String, byte[]> raw,
                             List<FileProblem> problems) {
        BasicFileAttributes attrs = attributes(file, LinkOption.NOFOLLOW_LINKS);
        Path target = file;
        if (attrs.isSymbolicLink()) {
            if (!Files.exists(file)) {
                problems.add(new FileProblem(name, "symbolic link to a file that does not exist; not read"));
                return;
            }
            target = realPath(file, file);
            if (root != null && !target.startsWith(root)) {
                // neither the target's name nor its content: either may be what the link was made to reveal
                problems.add(new FileProblem(name, "symbolic link to a file outside the source directory; not read"));
                return;
            }
            attrs = attributes(target, LinkOption.NOFOLLOW_LINKS);
        }
        if (attrs.isDirectory()) {
            return;   // a directory named like a policy: walked into, or not entered when linked
        }
        if (!attrs.isRegularFile()) {
            problems.add(new FileProblem(name, "not a regular file (" + kind(target) + "); not read"));
            return;
        }
        Optional<FileProblem> large = PolicyFiles.tooLarge(name, attrs.size());
        if (large.isPresent()) {
            problems.add(large.get());
            return;
        }
        byte[] bytes;
        try (InputStream in = Files.newInputStream(target, LinkOption.NOFOLLOW_LINKS)) {
            bytes = in.readNBytes((int) PolicyFiles.MAX_BYTES + 1);   // it may have grown since
        } catch (IOException e) {
            throw new SourceException("read " + name + ": " + reason(e), e);
        }
        large = PolicyFiles.tooLarge(name, bytes.length);
        if (large.isPresent()) {
            problems.add(large.get());
            return;
        }
        PolicyFiles.Decoded decoded = PolicyFiles.decode(name, bytes);
        if (decoded.problem() != null) {
            problems.add(decoded.problem());
        } else {
            files.put(name, decoded.text());
            raw.put(name, bytes);
        }
    }

    private static BasicFileAttributes attributes(Path p, LinkOption... options) {
        try {
            return Files.readAttributes(p, BasicFileAttributes.class, options);
        } catch (IOException e) {
            throw new SourceException("read " + p + ": " + reason(e), e);
        }
    }

    private static Path realPath(Path p, Path shown) {
        try {
            return p.toRealPath();
        } catch (IOException e) {
            throw new SourceException("read " + shown + ": " + reason(e), e);
        }
    }

    /** The kind of a special file, from the type bits of its mode. */
    private static String kind(Path p) {
        try {
            int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return switch (mode & 0170000) {
                case 0010000 -> "a FIFO";
                case 0020000 -> "a character device";
                case 0060000 -> "a block device";
                case 0140000 -> "a socket";
                default -> "a special file";
            };
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "a special file";
        }
    }

    /** The policy files under {@code dir}, named under it as given (a link to a directory is walked where it points). */
    private static List<Path> list(Path dir) {
        List<Path> found = new ArrayList<>();
        // a walk does not follow its start when that is a link: it would list the link alone, and no file
        Path start = Files.isSymbolicLink(dir) ? realPath(dir, dir) : dir;
        try (Stream<Path> walk = Files.walk(start)) {
            walk.filter(p -> !p.equals(start))
                    .map(start::relativize)
                    .filter(p -> !hidden(p))
                    .filter(p -> PolicyFiles.isPolicyName(p.getFileName().toString()))
                    .forEach(p -> found.add(dir.resolve(p)));
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new SourceException("read " + dir + ": " + reason(e), e);
        }
        return found;
    }

    /** Walking still enters hidden directories; any hidden component below the root excludes the file. */
    private static boolean hidden(Path relative) {
        for (Path part : relative) {
            if (part.toString().startsWith(".")) {
                return true;
            }
        }
        return false;
    }

    private static String name(Path p) {
        return p.toString().isEmpty() ? "." : p.toString();
    }

    private static String reason(Exception e) {
        Throwable t = e instanceof java.io.UncheckedIOException u ? u.getCause() : e;
        return switch (t) {
            case NoSuchFileException x -> "no such file or directory";
            case AccessDeniedException x -> "permission denied";
            default -> t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        };
    }

    /**
     * Whether JGit's search ({@code findGitDir}) could find a repository from {@code abs} up: some directory on
     * the way has a {@code .git} (a directory, or a file of a linked work tree or submodule), or is itself
     * shaped like a bare repository. A superset of what JGit finds, checked without JGit (nor a class that refers to it: verifying one loads JGit): a cold
     * {@code validate} of a directory outside any checkout then never loads it.
     */
    public static boolean mayBeInGitRepository(Path abs) {
        for (Path dir = Files.isDirectory(abs) ? abs : abs.getParent(); dir != null; dir = dir.getParent()) {
            if (Files.exists(dir.resolve(".git"))
                    || Files.exists(dir.resolve("HEAD")) && Files.isDirectory(dir.resolve("objects"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The revision {@link #read} gives these files, named relative to the directory they were read from (the id
     * does not depend on how the directory's path was typed, or where it is): for a copy of a read kept
     * elsewhere, whose id must be computed from its content again, not taken from a label. Given the names a
     * read shows (the path as typed joined with the name inside), it is the id earlier builds gave a read, which
     * hosts upgraded from them still record as applied.
     */
    public static String revisionOf(Map<String, String> files) {
        return "dir:" + revision(new TreeMap<>(files));
    }

    /** First 12 hex digits of SHA-256 over each (name, content), length-prefixed so that no two sets collide. */
    static String revision(Map<String, String> sortedFiles) {
        List<Map.Entry<String, byte[]>> encoded = new ArrayList<>(sortedFiles.size());
        sortedFiles.forEach((name, content) -> encoded.add(Map.entry(name, content.getBytes(StandardCharsets.UTF_8))));
        return revisionOfBytes(encoded);
    }

    /**
     * {@link #revision} from the files' UTF-8 bytes as read: the same digest, since a text decoded from valid
     * UTF-8 (PolicyFiles.decode refuses anything else) encodes back to exactly those bytes. Ordered by name, then
     * by content: two paths of one read may each hold a file of the same name inside them.
     */
    private static String revisionOfBytes(List<Map.Entry<String, byte[]>> files) {
        List<Map.Entry<String, byte[]>> sorted = new ArrayList<>(files);
        sorted.sort(Map.Entry.<String, byte[]>comparingByKey().thenComparing(Map.Entry::getValue, Arrays::compareUnsigned));
        MessageDigest sha = BulkSha256.fresh();   // libcrypto's where there is one: every byte read, under C1
        for (Map.Entry<String, byte[]> f : sorted) {
            for (byte[] b : new byte[][]{f.getKey().getBytes(StandardCharsets.UTF_8), f.getValue()}) {
                sha.update(ByteBuffer.allocate(8).putLong(b.length).array());
                sha.update(b);
            }
        }
        return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
    }
}
