package dev.bpfgit.run;

import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.source.Snapshot;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * The reconcile loop of design §6 for one host: reconcile on every new revision and every drift interval
 * (with jitter), correct drift or only report it, retry failures with exponential backoff, and keep
 * enforcing the last good revision while the source is unreadable or a revision is invalid.
 */
public final class Sidecar {
    private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Duration MAX_BACKOFF = Duration.ofMinutes(5);

    private final Pipeline pipeline;
    private final Supplier<Snapshot> source;
    private final Supplier<HostFacts> host;
    private final Config config;
    private final Clock clock;
    private final Metrics metrics;
    private volatile boolean stopping;

    private String lastRevision;
    private String lastGoodRevision;
    private Instant lastGoodAt;
    private Instant nextDriftCheck = Instant.MIN;
    private Duration backoff = Duration.ZERO;
    private Instant retryAt = Instant.MIN;

    public Sidecar(Pipeline pipeline, Supplier<Snapshot> source, Supplier<HostFacts> host, Config config,
                   Clock clock, Metrics metrics) {
        this.pipeline = pipeline;
        this.source = source;
        this.host = host;
        this.config = config;
        this.clock = clock;
        this.metrics = metrics;
    }

    /** Asks the loop to stop after the current step; the datapath stays attached. */
    public void stop() {
        stopping = true;
    }

    public void loop() throws InterruptedException {
        nextDriftCheck = clock.instant();
        while (!stopping) {
            tick();
            Thread.sleep(POLL.toMillis());
        }
        LOG.info("stopping; the datapath stays attached (revision {})", lastGoodRevision);
    }

    /** One look at the source; reconciles when the revision moved, the drift timer fired or a retry is due. */
    void tick() {
        Instant now = clock.instant();
        Snapshot snapshot;
        try {
            snapshot = source.get();
        } catch (RuntimeException e) {
            metrics.sourceError();
            LOG.warn("source unreadable: {}; keeping revision {} applied {} ago", e.getMessage(), lastGoodRevision,
                    age(now));
            return;
        }
        boolean newRevision = !snapshot.revision().equals(lastRevision);
        boolean driftDue = !now.isBefore(nextDriftCheck);
        boolean retryDue = !backoff.isZero() && !now.isBefore(retryAt);
        if (!newRevision && !driftDue && !retryDue) {
            return;
        }
        lastRevision = snapshot.revision();
        nextDriftCheck = now.plus(jittered(config.interval()));
        reconcile(snapshot, newRevision);
    }

    private void reconcile(Snapshot snapshot, boolean newRevision) {
        Instant start = clock.instant();
        try {
            DesiredState desired = pipeline.compile(snapshot, host.get());
            Plan plan = pipeline.plan(desired);
            if (plan.inSync()) {
                if (newRevision || !snapshot.revision().equals(lastGoodRevision)) {
                    pipeline.apply(plan);   // records the revision
                }
                LOG.info("revision {} in sync", snapshot.revision());
            } else if (newRevision || config.correctDrift() || !snapshot.revision().equals(lastGoodRevision)) {
                LOG.info("revision {}: {}", snapshot.revision(), plan.summary());
                ApplyResult r = pipeline.apply(plan);
                metrics.applied(r);
                LOG.info("revision {} applied: {} steps, {} entries written, {} deleted", snapshot.revision(),
                        r.steps(), r.entriesWritten(), r.entriesDeleted());
            } else {
                metrics.drift();
                LOG.warn("revision {} drifted: {} (reconcile.drift: report, not correcting)", snapshot.revision(),
                        plan.summary());
            }
            lastGoodRevision = snapshot.revision();
            lastGoodAt = clock.instant();
            backoff = Duration.ZERO;
            metrics.success(snapshot.revision(), Duration.between(start, clock.instant()));
        } catch (PolicyException e) {
            metrics.invalid();
            LOG.error("revision {} is invalid, nothing applied; keeping revision {} applied {} ago:\n{}",
                    snapshot.revision(), lastGoodRevision, age(clock.instant()), e.getMessage());
            lastGoodRevisionKept();
        } catch (RuntimeException e) {
            metrics.failure();
            backoff = backoff.isZero() ? Duration.ofSeconds(1) : min(backoff.multipliedBy(2), MAX_BACKOFF);
            retryAt = clock.instant().plus(backoff);
            LOG.error("revision {} failed: {}; retrying in {}", snapshot.revision(), e.getMessage(),
                    Durations.human(backoff));
        }
    }

    private void lastGoodRevisionKept() {
        // an invalid revision is not retried until the source moves again: nothing would change
        backoff = Duration.ZERO;
    }

    private String age(Instant now) {
        return lastGoodAt == null ? "never" : Durations.human(Duration.between(lastGoodAt, now));
    }

    private Duration jittered(Duration d) {
        double j = config.jitter() <= 0 ? 0 : ThreadLocalRandom.current().nextDouble(-config.jitter(), config.jitter());
        return Duration.ofMillis(Math.max(1000, (long) (d.toMillis() * (1 + j))));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) < 0 ? a : b;
    }

    public Optional<String> lastGoodRevision() {
        return Optional.ofNullable(lastGoodRevision);
    }
}
