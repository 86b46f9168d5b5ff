package dev.bpfgit.source;

import org.eclipse.jgit.lib.ObjectId;
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
import java.util.TreeMap;

/**
 * The policy files under a path as they were at a git revision of the repository that contains the path
 * (for {@code plan --against origin/main}): the files are named as {@link DirectorySource} names them, so
 * both sides of the plan read alike.
 */
public final class GitRevisionSource {
    private GitRevisionSource() {
    }

    public static Snapshot read(Path path, String revision) {
        Path abs = path.toAbsolutePath().normalize();
        Path start = Files.isDirectory(abs) ? abs : abs.getParent();
        FileRepositoryBuilder builder = new FileRepositoryBuilder().findGitDir(start.toFile());
        if (builder.getGitDir() == null) {
            throw new IllegalArgumentException(path + " is not inside a git repository (needed for --against)");
        }
        try (Repository repo = builder.setMustExist(true).build(); RevWalk walk = new RevWalk(repo)) {
            ObjectId id = repo.resolve(revision);
            if (id == null) {
                throw new IllegalArgumentException("git revision " + revision + " not found in " + repo.getDirectory());
            }
            RevCommit commit = walk.parseCommit(id);
            Path top = repo.getWorkTree().toPath().toRealPath();
            Path real = abs.toFile().exists() ? abs.toRealPath() : abs;
            String rel = top.relativize(real).toString();
            Map<String, String> files = new TreeMap<>();
            try (TreeWalk tw = new TreeWalk(repo)) {
                tw.addTree(commit.getTree());
                tw.setRecursive(true);
                if (!rel.isEmpty()) {
                    tw.setFilter(PathFilter.create(rel));
                }
                while (tw.next()) {
                    String p = tw.getPathString();
                    String name = p.substring(p.lastIndexOf('/') + 1);
                    if (!(name.endsWith(".yaml") || name.endsWith(".yml")) || hidden(p)) {
                        continue;
                    }
                    String inside = rel.isEmpty() ? p : p.equals(rel) ? "" : p.substring(rel.length() + 1);
                    String shown = inside.isEmpty() ? path.toString() : path.resolve(inside).toString();
                    byte[] content = repo.open(tw.getObjectId(0)).getBytes();
                    files.put(shown, new String(content, StandardCharsets.UTF_8));
                }
            }
            return new Snapshot(commit.getName(), files);
        } catch (IOException e) {
            throw new IllegalArgumentException("read git revision " + revision + ": " + e.getMessage());
        }
    }

    private static boolean hidden(String p) {
        for (String seg : p.split("/")) {
            if (seg.startsWith(".")) {
                return true;
            }
        }
        return false;
    }
}
