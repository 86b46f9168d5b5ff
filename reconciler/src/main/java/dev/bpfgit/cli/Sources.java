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
        DirectorySource.Read onDisk;
        try {
            onDisk = DirectorySource.readFiles(ps);
        } catch (InvalidFilesException e) {
            throw asPolicyErrors(e);
        }
        // a path in a git working tree is named by its commit (and "+dirty") rather than a digest
        return ps.size() == 1 && DirectorySource.mayBeInGitRepository(ps.get(0).toAbsolutePath().normalize())
                ? GitRevisionSource.named(ps.get(0), onDisk) : onDisk.snapshot();
    }

    /** Refused files are mistakes in the policy files: printed, annotated and exited on like policy errors. */
    static PolicyException asPolicyErrors(InvalidFilesException e) {
        return new PolicyException(e.problems().stream().map(p -> new PolicyError(
                new Location(p.file(), p.line(), p.column()), "", p.message())).toList());
    }
}
