package dev.bpfgit.source;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Policy files that exist but that no policy can come from: every one of them, not only the first. It is a
 * mistake in the revision (like an invalid policy), not an unreachable source; the message holds one
 * {@code file:line:column: error: ...} line per file.
 */
public final class InvalidFilesException extends SourceException {
    private final List<FileProblem> problems;

    public InvalidFilesException(List<FileProblem> problems) {
        super(problems.stream().map(FileProblem::toString).collect(Collectors.joining("\n")));
        this.problems = List.copyOf(problems);
    }

    public List<FileProblem> problems() {
        return problems;
    }
}
