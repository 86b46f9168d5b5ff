package dev.bpfgit.source;

import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.PersonIdent;
import org.eclipse.jgit.lib.ObjectLoader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevCommit;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.storage.file.FileRepositoryBuilder;
import org.eclipse.jgit.treewalk.TreeWalk;
import org.eclipse.jgit.treewalk.filter.PathFilter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The policy files under a path as they were at a git revision of the repository that contains the path
 * (for {@code plan --against origin/main}), and the git name of what is on disk there (for {@code plan} of a
 * working tree): the files are named as {@link DirectorySource} names them, so both sides of a plan read alike,
 * and the same files are refused with the same words: not UTF-8, larger than {@link PolicyFiles#MAX_BYTES}, a
 * submodule, or a symbolic link that leaves the source path (links are resolved inside the commit, never on
 * the disk).
 */
public final class GitRevisionSource {
    /** Appended to the HEAD commit id when the files on disk are not those of HEAD. */
    public static final String DIRTY = "+dirty";

    private GitRevisionSource() {
    }

    public static Snapshot read(Path path, String revision) {
        Path abs = path.toAbsolutePath().normalize();
        FileRepositoryBuilder builder = find(abs);
        if (builder.getGitDir() == null) {
            throw new IllegalArgumentException(path + " is not inside a git repository (needed for --against)");
        }
        try (Repository repo = builder.setMustExist(true).build(); RevWalk walk = new RevWalk(repo)) {
            ObjectId id = repo.resolve(revision);
            if (id == null) {
                throw new IllegalArgumentException("git revision " + revision + " not found in " + repo.getDirectory());
            }
            RevCommit commit = walk.parseCommit(id);
            return new Snapshot(commit.getName(), files(repo, commit, path), Optional.of(commit(commit)));
        } catch (IOException e) {
            throw new IllegalArgumentException("read git revision " + revision + ": " + e.getMessage());
        }
    }

    /**
     * {@code onDisk} (read by {@link DirectorySource} from {@code path}) named by git when the path is in a
     * working tree: the HEAD commit id, with its commit, when the files are exactly HEAD's; the id and
     * {@value #DIRTY} when any differs (edited, added, removed, untracked). Outside a working tree, in a
     * repository without commits, or one JGit cannot read, {@code onDisk} is returned as it is.
     */
    public static Snapshot named(Path path, Snapshot onDisk) {
        return named(path, new DirectorySource.Read(onDisk.files(), onDisk::revision), () -> onDisk);
    }

    /**
     * As {@link #named(Path, Snapshot)} for a {@link DirectorySource#readFiles read}: its revision (a digest of
     * every file) is computed only when git does not name the files.
     */
    public static Snapshot named(Path path, DirectorySource.Read onDisk) {
        return named(path, onDisk, onDisk::snapshot);
    }

    private static Snapshot named(Path path, DirectorySource.Read read, java.util.function.Supplier<Snapshot> unnamed) {
        Map<String, String> onDisk = read.files();
        Path abs = path.toAbsolutePath().normalize();
        if (!DirectorySource.mayBeInGitRepository(abs)) {
            return unnamed.get();
        }
        FileRepositoryBuilder builder = find(abs);
        if (builder.getGitDir() == null) {
            return unnamed.get();
        }
        try (Repository repo = builder.setMustExist(true).build(); RevWalk walk = new RevWalk(repo)) {
            ObjectId head = repo.isBare() ? null : repo.resolve(Constants.HEAD);
            if (head == null) {
                return unnamed.get();
            }
            RevCommit commit = walk.parseCommit(head);
            boolean same;
            try {
                same = files(repo, commit, path).equals(onDisk);
            } catch (InvalidFilesException e) {
                same = false;   // HEAD holds a file the disk no longer has as it was
            }
            if (same) {
                return new Snapshot(commit.getName(), onDisk, Optional.of(commit(commit)));
            }
            return new Snapshot(commit.getName() + DIRTY, onDisk);
        } catch (IOException | IllegalArgumentException e) {
            return unnamed.get();
        }
    }

    private static FileRepositoryBuilder find(Path abs) {
        JGitProcess.configure();
        Path start = Files.isDirectory(abs) ? abs : abs.getParent();
        return new FileRepositoryBuilder().findGitDir(start.toFile());
    }


    /** The policy files under {@code path} in the commit's tree, named like {@link DirectorySource} does. */
    private static Map<String, String> files(Repository repo, RevCommit commit, Path path) throws IOException {
        Path abs = path.toAbsolutePath().normalize();
        Path top = repo.getWorkTree().toPath().toRealPath();
        Path real = abs.toFile().exists() ? abs.toRealPath() : abs;
        String rel = top.relativize(real).toString();
        Path shownBase = path.normalize();
        return treeFiles(repo, commit, rel,
                inside -> inside.isEmpty() ? shownBase.toString() : shownBase.resolve(inside).toString());
    }

    /**
     * The policy files of a commit under {@code rel} (a directory or a file of the tree, {@code ""} for the
     * whole tree), as {@link DirectorySource} would read them from a checkout: hidden names below {@code rel}
     * skipped, links followed only within it, and every file no policy can come from refused by name.
     *
     * @param shown the name shown to users for a path inside {@code rel} ({@code ""}: {@code rel} itself)
     * @throws InvalidFilesException naming every refused file
     */
    static Map<String, String> treeFiles(Repository repo, RevCommit commit, String rel,
                                         Function<String, String> shown) throws IOException {
        Map<String, String> files = new TreeMap<>();
        List<FileProblem> problems = new ArrayList<>();
        try (TreeWalk tw = new TreeWalk(repo)) {
            tw.addTree(commit.getTree());
            tw.setRecursive(true);
            if (!rel.isEmpty()) {
                tw.setFilter(PathFilter.create(rel));
            }
            while (tw.next()) {
                String p = tw.getPathString();
                String inside = rel.isEmpty() ? p : p.equals(rel) ? "" : p.substring(rel.length() + 1);
                // a file named on the command line counts whatever its name, as DirectorySource reads it
                if (!inside.isEmpty() && (!PolicyFiles.isPolicyName(inside.substring(inside.lastIndexOf('/') + 1))
                        || hidden(inside))) {
                    continue;
                }
                String name = shown.apply(inside);
                // links resolve inside the commit, never on the disk, and only within the source path
                String root = p.equals(rel) ? parent(rel) : rel;
                blob(repo, commit, root, p, tw.getFileMode(0), tw.getObjectId(0), name, problems)
                        .ifPresent(text -> files.put(name, text));
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidFilesException(problems);
        }
        return files;
    }

    private static final int MAX_LINKS = 8;

    /** The text of a tree entry with a policy name, following links within {@code root}; else a problem. */
    private static Optional<String> blob(Repository repo, RevCommit commit, String root, String path, FileMode mode,
                                         ObjectId id, String shown, List<FileProblem> problems) throws IOException {
        for (int links = 0; mode == FileMode.SYMLINK; links++) {
            if (links == MAX_LINKS) {
                problems.add(new FileProblem(shown, "more than " + MAX_LINKS + " symbolic links in a row; not read"));
                return Optional.empty();
            }
            ObjectLoader link = repo.open(id);
            String target = link.getSize() > 4096 ? "/" : new String(link.getCachedBytes(4096), StandardCharsets.UTF_8);
            Optional<String> resolved = resolve(parent(path), target).filter(r -> within(root, r));
            if (resolved.isEmpty()) {
                problems.add(new FileProblem(shown, "symbolic link to a file outside the source directory; not read"));
                return Optional.empty();
            }
            try (TreeWalk at = TreeWalk.forPath(repo, resolved.get(), commit.getTree())) {
                if (at == null) {
                    problems.add(new FileProblem(shown, "symbolic link to a file that does not exist; not read"));
                    return Optional.empty();
                }
                path = resolved.get();
                mode = at.getFileMode(0);
                id = at.getObjectId(0);
            }
        }
        if (mode == FileMode.TREE) {
            return Optional.empty();   // a linked directory is not entered, as on disk
        }
        if (mode != FileMode.REGULAR_FILE && mode != FileMode.EXECUTABLE_FILE) {
            problems.add(new FileProblem(shown, "not a regular file (" + (mode == FileMode.GITLINK
                    ? "a git submodule" : "git mode " + mode) + "); not read"));
            return Optional.empty();
        }
        ObjectLoader loader = repo.open(id);
        Optional<FileProblem> large = PolicyFiles.tooLarge(shown, loader.getSize());
        if (large.isPresent()) {
            problems.add(large.get());
            return Optional.empty();
        }
        PolicyFiles.Decoded decoded = PolicyFiles.decode(shown, loader.getCachedBytes((int) PolicyFiles.MAX_BYTES));
        if (decoded.problem() != null) {
            problems.add(decoded.problem());
            return Optional.empty();
        }
        return Optional.of(decoded.text());
    }

    private static String parent(String p) {
        int slash = p.lastIndexOf('/');
        return slash < 0 ? "" : p.substring(0, slash);
    }

    /** A link target relative to the link's directory, as a path from the top of the tree; empty if it leaves it. */
    private static Optional<String> resolve(String dir, String target) {
        if (target.startsWith("/") || target.indexOf('\0') >= 0) {
            return Optional.empty();
        }
        Deque<String> parts = new ArrayDeque<>();
        for (String seg : (dir.isEmpty() ? target : dir + "/" + target).split("/")) {
            if (seg.isEmpty() || seg.equals(".")) {
                continue;
            }
            if (seg.equals("..")) {
                if (parts.isEmpty()) {
                    return Optional.empty();
                }
                parts.removeLast();
            } else {
                parts.addLast(seg);
            }
        }
        return parts.isEmpty() ? Optional.empty() : Optional.of(String.join("/", parts));
    }

    private static boolean within(String root, String p) {
        return root.isEmpty() || p.startsWith(root + "/");
    }

    static Commit commit(RevCommit c) {
        PersonIdent a = c.getAuthorIdent();
        return new Commit(c.getName(), c.getShortMessage(), a.getName() + " <" + a.getEmailAddress() + ">",
                a.getWhenAsInstant(), Optional.empty());
    }

    /** Hidden below the path given, as in DirectorySource: the path itself may be under a dot directory. */
    private static boolean hidden(String inside) {
        for (String seg : inside.split("/")) {
            if (seg.startsWith(".")) {
                return true;
            }
        }
        return false;
    }
}
