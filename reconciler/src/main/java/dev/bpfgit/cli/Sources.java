package dev.bpfgit.cli;

import dev.bpfgit.policy.Location;
import dev.bpfgit.policy.PolicyError;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.source.DirectorySource;
import dev.bpfgit.source.GitRevisionSource;
import dev.bpfgit.source.InvalidFilesException;
import dev.bpfgit.source.Snapshot;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Reads the policy paths given on the command line (or in the configuration). */
final class Sources {
    private Sources() {
    }

    static Snapshot read(List<Path> paths, Common common) {
        List<Path> ps = given(paths, common);
        DirectorySource.Read onDisk = onDisk(ps);
        // a path in a git working tree is named by its commit (and "+dirty") rather than a digest
        return inGit(ps) ? GitRevisionSource.named(ps.get(0), onDisk) : onDisk.snapshot();
    }

    /**
     * The files of a read, and the snapshot {@link #read} gives them, named on a thread of its own.
     *
     * @param files the files, under an empty revision: what a parse needs
     * @param named the snapshot as {@link #read} gives it, waited for; what naming threw, it throws
     */
    record Ahead(Snapshot files, java.util.function.Supplier<Snapshot> named) {
        static Ahead of(Snapshot snapshot) {
            return new Ahead(snapshot, () -> snapshot);
        }
    }

    /**
     * As {@link #read}, with the naming (git's commit and the comparison of its files with the disk's, or
     * the SHA-256 of every file: 40-80 ms of CPU at 100,000 rules) done beside the parse that the caller
     * starts at once; before, both parse threads waited for it. Refused files are refused here, as by read.
     */
    static Ahead readAhead(List<Path> paths, Common common) {
        List<Path> ps = given(paths, common);
        DirectorySource.Read onDisk = onDisk(ps);
        Path path = ps.get(0);
        boolean git = inGit(ps);
        var named = dev.bpfgit.run.Ahead.start("bpfgit-revision",
                () -> git ? GitRevisionSource.named(path, onDisk) : onDisk.snapshot());
        return new Ahead(new Snapshot("", onDisk.files()), named::get);
    }

    private static boolean inGit(List<Path> ps) {
        return ps.size() == 1 && DirectorySource.mayBeInGitRepository(ps.get(0).toAbsolutePath().normalize());
    }

    private static List<Path> given(List<Path> paths, Common common) {
        List<Path> ps = paths;
        if (ps == null || ps.isEmpty()) {
            ps = common.config().sourcePath().map(List::of).orElseThrow(() ->
                    new UsageException("no policy path given (PATH, or source.path in --config)"));
        }
        for (Path p : ps) {
            if (!Files.exists(p)) {
                throw new UsageException(p + ": no such file or directory");
            }
        }
        return ps;
    }

    private static DirectorySource.Read onDisk(List<Path> ps) {
        try {
            return DirectorySource.readFiles(ps);
        } catch (InvalidFilesException e) {
            throw asPolicyErrors(e);
        }
    }

    /** Refused files are mistakes in the policy files: printed, annotated and exited on like policy errors. */
    static PolicyException asPolicyErrors(InvalidFilesException e) {
        return new PolicyException(e.problems().stream().map(p -> new PolicyError(
                new Location(p.file(), p.line(), p.column()), "", p.message())).toList());
    }
}
