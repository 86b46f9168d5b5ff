package dev.bpfgit.source;

import org.eclipse.jgit.lib.Constants;
import org.eclipse.jgit.lib.FileMode;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.PersonIdent;
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
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The policy files under a path as they were at a git revision of the repository that contains the path
 * (for {@code plan --against origin/main}), and the git name of what is on disk there (for {@code plan} of a
 * working tree): the files are named as {@link DirectorySource} names them, so both sides of a plan read alike.
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
        Path abs = path.toAbsolutePath().normalize();
        FileRepositoryBuilder builder = find(abs);
        if (builder.getGitDir() == null) {
            return onDisk;
        }
        try (Repository repo = builder.setMustExist(true).build(); RevWalk walk = new RevWalk(repo)) {
            ObjectId head = repo.isBare() ? null : repo.resolve(Constants.HEAD);
            if (head == null) {
                return onDisk;
            }
            RevCommit commit = walk.parseCommit(head);
            if (files(repo, commit, path).equals(onDisk.files())) {
                return new Snapshot(commit.getName(), onDisk.files(), Optional.of(commit(commit)));
            }
            return new Snapshot(commit.getName() + DIRTY, onDisk.files());
        } catch (IOException | IllegalArgumentException e) {
            return onDisk;
        }
    }

    private static FileRepositoryBuilder find(Path abs) {
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
        Map<String, String> files = new TreeMap<>();
        try (TreeWalk tw = new TreeWalk(repo)) {
            tw.addTree(commit.getTree());
            tw.setRecursive(true);
            if (!rel.isEmpty()) {
                tw.setFilter(PathFilter.create(rel));
            }
            while (tw.next()) {
                String p = tw.getPathString();
                String inside = rel.isEmpty() ? p : p.equals(rel) ? "" : p.substring(rel.length() + 1);
                FileMode mode = tw.getFileMode(0);
                boolean regular = mode == FileMode.REGULAR_FILE || mode == FileMode.EXECUTABLE_FILE;
                // a file named on the command line counts whatever its name, as DirectorySource reads it
                if (!regular || !inside.isEmpty() && (!inside.matches(".*\\.ya?ml") || hidden(inside))) {
                    continue;
                }
                String shown = inside.isEmpty() ? shownBase.toString() : shownBase.resolve(inside).toString();
                byte[] content = repo.open(tw.getObjectId(0)).getBytes();
                files.put(shown, new String(content, StandardCharsets.UTF_8));
            }
        }
        return files;
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
