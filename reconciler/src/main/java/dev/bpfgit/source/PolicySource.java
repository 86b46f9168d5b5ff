package dev.bpfgit.source;

/**
 * Where the sidecar ({@code bpfgit run}) reads its policies: a directory or one branch of a git repository
 * (design §6). Finding out whether anything moved ({@link #head}) is separate from reading it
 * ({@link #read}), so that an unchanged source costs no fetch, parse or compile.
 *
 * <p>Implementations are used from the sidecar's loop thread only, except {@link #onChange}'s listener,
 * which a watcher thread may call at any time.
 */
public interface PolicySource extends AutoCloseable {

    /**
     * A token for the source's current state, cheap to get: for git the remote branch's commit id (one
     * ls-remote, no fetch), for a directory a counter of file-system events. An unchanged token means there
     * is nothing new to read.
     *
     * @throws SourceException when the source cannot be reached (network, permissions, missing directory)
     */
    String head();

    /**
     * The policy files at {@code head} (git: fetched into the local clone, signature checked when
     * configured, the tree read under the configured path). The snapshot's revision is what status, logs
     * and metrics name: the full commit id for git.
     *
     * @throws RefusedRevisionException when verification refuses the commit (unsigned, untrusted key)
     * @throws SourceException          when it cannot be read
     */
    Snapshot read(String head);

    /**
     * Registers a listener called (from any thread) when the source may have changed, so the loop wakes up
     * at once instead of at its next check: a directory's file-system events. Sources without events (git)
     * never call it and are checked every interval.
     */
    default void onChange(Runnable listener) {
    }

    /**
     * The policy files of an earlier revision, named as {@link Snapshot#revision} named it: for a restarted
     * sidecar whose head is refused or invalid, to keep enforcing the revision recorded as applied (design
     * §5, §6). Empty when the source cannot give past revisions: a directory holds only its present files.
     *
     * @throws RefusedRevisionException when verification refuses it now (a key no longer trusted)
     * @throws SourceException          when the source should have it but cannot read it
     */
    default java.util.Optional<Snapshot> readRevision(String revision) {
        return java.util.Optional.empty();
    }

    /** For logs and status, e.g. {@code directory /etc/bpfgit/policies} or {@code git ssh://host/repo.git main:hosts/edge}. */
    String describe();

    @Override
    void close();
}
