package dev.bpfgit.run;

import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.source.PolicySource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.source.SourceException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The revision the pins record as applied, read again from the source, for a sidecar that starts while the
 * head is refused, invalid or unreachable: without it the restarted process would enforce nothing (the pinned
 * datapath stays, but drift would go uncorrected) until a valid revision arrives.
 *
 * <p>A git source reads the recorded commit from its clone (or fetches it by id), verifying its signature as
 * for a head. A directory keeps only its present files: the sidecar keeps a copy of each revision it applied
 * ({@link LastGoodStore}, {@code source.lastGood}) and enforces it when its id, computed again from its files,
 * is the recorded one; without such a copy it says so and enforces nothing until the directory is valid again.
 */
final class LastGood {
    private static final Logger LOG = LoggerFactory.getLogger(LastGood.class);

    private LastGood() {
    }

    /** The revision the bookkeeping map under the root records as applied; empty when nothing is. */
    static Optional<String> applied(Pipeline pipeline) {
        try {
            return Meta.decode(pipeline.kernel().entries(Meta.pin(pipeline.root())).stream()
                    .collect(Collectors.toMap(Entry::key, Entry::value))).revision();
        } catch (RuntimeException e) {
            return Optional.empty();   // no bookkeeping map: nothing applied under this root
        }
    }

    /**
     * The applied revision, validated and compiled for this host; empty (logged) when it cannot be had.
     *
     * @param copies a directory source's kept copy, or null
     */
    static Optional<Sidecar.Enforced> read(PolicySource source, LastGoodStore copies, Pipeline pipeline,
                                           String revision, Supplier<HostFacts> host) {
        Optional<Snapshot> snapshot;
        String from = source.describe();
        try {
            snapshot = source.readRevision(revision);
            if (snapshot.isEmpty() && copies != null) {
                from = copies.describe();
                snapshot = copies.read(revision);
                if (snapshot.isEmpty()) {
                    LOG.warn("revision {} is applied, but {} cannot give it back and no copy of it is kept ({} is"
                            + " empty): drift is not corrected until a valid revision arrives", revision,
                            source.describe(), from);
                    return Optional.empty();
                }
            }
        } catch (SourceException e) {
            LOG.error("revision {} is applied, but reading it again from {} failed: {}; drift is not corrected until"
                    + " a valid revision arrives", revision, from, e.getMessage());
            return Optional.empty();
        }
        if (snapshot.isEmpty()) {
            LOG.warn("revision {} is applied, but {} cannot give an earlier revision back (it holds only its present"
                    + " files): drift is not corrected until a valid revision arrives", revision, source.describe());
            return Optional.empty();
        }
        Snapshot s = snapshot.get();
        try {
            Pipeline.requireFiles(s);
            List<Policy> policies = Pipeline.validate(s);
            HostFacts facts = host.get();
            DesiredState desired = Compiler.compile(pipeline.root(), s.revision(), policies, facts)
                    .withCommit(s.commit());
            LOG.info("enforcing revision {} again, the last applied{} (read again from {})", s.revision(),
                    s.commit().map(c -> " (" + c.subject() + ", " + c.author() + ")").orElse(""), from);
            return Optional.of(new Sidecar.Enforced(s.revision(), s.commit(), policies, facts, desired,
                    Optional.empty()));
        } catch (PolicyException | SourceException e) {
            // valid when it was applied: a newer bpfgit may check more; its pins stay as they are
            LOG.error("revision {} is applied, but does not validate any more: {}; drift is not corrected until a"
                    + " valid revision arrives", revision, e.getMessage().lines().findFirst().orElse(""));
            return Optional.empty();
        }
    }
}
