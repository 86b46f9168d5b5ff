package dev.bpfgit.source;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Reads policy files from directories and files on disk into one {@link Snapshot}.
 * <p>
 * A directory is searched recursively for {@code *.yaml} and {@code *.yml}; names starting with a dot are
 * skipped, files and directories alike, which also skips the {@code ..data} machinery of a mounted Kubernetes
 * ConfigMap while its symlinked files are read. A file given by name is read whatever its extension.
 * Files are named as the user would find them: the path given joined with the path inside it.
 */
public final class DirectorySource {
    private DirectorySource() {
    }

    public static Snapshot read(Path... paths) {
        return read(List.of(paths));
    }

    /** @throws SourceException if a path is missing or a file cannot be read or is not UTF-8 */
    public static Snapshot read(List<Path> paths) {
        Map<String, String> files = new TreeMap<>();
        for (Path given : paths) {
            Path base = given.normalize();
            if (!Files.exists(given)) {
                throw new SourceException("read " + given + ": no such file or directory");
            }
            if (Files.isDirectory(given)) {
                for (Path file : list(given)) {
                    files.put(name(base.resolve(given.relativize(file))), text(file));
                }
            } else {
                files.put(name(base), text(given));
            }
        }
        return new Snapshot("dir:" + revision(files), files);
    }

    private static List<Path> list(Path dir) {
        List<Path> found = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.filter(p -> !p.equals(dir))
                    .filter(p -> !hidden(dir.relativize(p)))
                    .filter(p -> p.getFileName().toString().matches(".*\\.ya?ml"))
                    .filter(Files::isRegularFile)
                    .forEach(found::add);
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

    private static String text(Path file) {
        try {
            byte[] bytes = Files.readAllBytes(file);
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SourceException("read " + file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new SourceException("read " + file + ": " + reason(e), e);
        }
    }

    private static String reason(Exception e) {
        Throwable t = e instanceof java.io.UncheckedIOException u ? u.getCause() : e;
        return switch (t) {
            case NoSuchFileException x -> "no such file or directory";
            case AccessDeniedException x -> "permission denied";
            default -> t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        };
    }

    /** First 12 hex digits of SHA-256 over each (name, content), length-prefixed so that no two sets collide. */
    static String revision(Map<String, String> sortedFiles) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sortedFiles.forEach((name, content) -> {
                for (String s : new String[]{name, content}) {
                    byte[] b = s.getBytes(StandardCharsets.UTF_8);
                    sha.update(ByteBuffer.allocate(8).putLong(b.length).array());
                    sha.update(b);
                }
            });
            return HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
