package dev.bpfgit.run;

import dev.bpfgit.apply.ApplyResult;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sidecar's Prometheus metrics, in a registry of its own (served by {@code run} on {@code metrics.listen}).
 * The loop reports into it; nothing here decides anything.
 */
public final class Metrics {
    /** Results of {@code bpfgit_reconcile_total}. */
    public enum Result {
        OK("ok"), ERROR("error"), INVALID("invalid"), REFUSED("refused"), SOURCE_ERROR("source_error");

        final String label;

        Result(String label) {
            this.label = label;
        }
    }

    /** States of {@code bpfgit_policy_state}. */
    public static final List<String> POLICY_STATES = List.of("in_sync", "drifted", "failed");

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Clock clock;
    private final Info revision = Info.builder().name("bpfgit_revision_info")
            .help("The revision enforced (last good): its full id and the short form logs and status show.")
            .labelNames("revision", "short").register(registry);
    // no label for the head token: a directory's is an event counter, a new series at every event
    private final Info source = Info.builder().name("bpfgit_source_info")
            .help("The source, the revision last read from it (for git the commit at the branch head) and its"
                    + " state (ok, invalid, refused, unreachable).")
            .labelNames("source", "revision", "state").register(registry);
    private final Gauge lastFetch = Gauge.builder().name("bpfgit_source_last_fetch_timestamp_seconds")
            .help("When the source was last reached (its head checked).").register(registry);
    private final Gauge lastSuccess = Gauge.builder().name("bpfgit_last_success_timestamp_seconds")
            .help("When a reconcile last ended with the kernel equal to the enforced revision.").register(registry);
    private final Gauge ready = Gauge.builder().name("bpfgit_ready")
            .help("1 when the enforced revision is applied and in sync (what /readyz answers).").register(registry);
    private final Histogram duration = Histogram.builder().name("bpfgit_reconcile_duration_seconds")
            .help("Duration of reconciles (read, parse, compile, observe, diff, apply as needed).")
            .classicOnly().classicUpperBounds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
            .register(registry);
    private final Counter reconciles = Counter.builder().name("bpfgit_reconcile_total")
            .help("Reconciles and source checks by result: ok, error (apply failed), invalid (revision has"
                    + " policy errors), refused (commit verification), source_error (source unreachable).")
            .labelNames("result").register(registry);
    private final Counter driftDetected = Counter.builder().name("bpfgit_drift_detected_total")
            .help("Reconciles that found the kernel different from the enforced revision.").register(registry);
    private final Counter driftCorrected = Counter.builder().name("bpfgit_drift_corrected_total")
            .help("Drift put back (reconcile.drift: correct).").register(registry);
    private final Counter refused = Counter.builder().name("bpfgit_refused_commits_total")
            .help("Revisions refused by verification (unsigned, untrusted key).").register(registry);
    private final Counter parses = Counter.builder().name("bpfgit_parses_total")
            .help("Revisions parsed and validated: an unchanged source costs none.").register(registry);
    private final Counter written = Counter.builder().name("bpfgit_map_entries_written_total")
            .help("Map entries written by apply.").register(registry);
    private final Counter deleted = Counter.builder().name("bpfgit_map_entries_deleted_total")
            .help("Map entries deleted by apply.").register(registry);
    private final Counter stepFailures = Counter.builder().name("bpfgit_loop_step_failures_total")
            .help("Loop steps that ended with an unexpected exception (logged with revision and cause).")
            .register(registry);
    private final Gauge policyState = Gauge.builder().name("bpfgit_policy_state")
            .help("1 for the state each policy of the enforced revision is in: in_sync, drifted, failed.")
            .labelNames("policy", "state").register(registry);
    private final Counter driftChecks = Counter.builder().name("bpfgit_drift_checks_total")
            .help("Reconciles of the enforced revision by how the kernel's maps were read: counter (the kernel's"
                    + " map write counter showed no write since the last read, no map dumped), full (at least one"
                    + " map dumped: written since, the periodic full verification, or no counter on this kernel).")
            .labelNames("mode").register(registry);
    private final Gauge stages = Gauge.builder().name("bpfgit_last_revision_stage_seconds")
            .help("Where the time of the last new revision went, from its first change event to the kernel:"
                    + " wait (events settling), read, parse (and validate), compile, observe, diff, apply, total.")
            .labelNames("stage").register(registry);
    private final Set<String> policies = new HashSet<>();
    private volatile Instant appliedSince;

    public Metrics(Clock clock) {
        this.clock = clock;
        for (Result r : Result.values()) {
            reconciles.labelValues(r.label);   // every result visible from the start, at 0
        }
        driftChecks.labelValues("counter");
        driftChecks.labelValues("full");
        GaugeWithCallback.builder().name("bpfgit_revision_age_seconds")
                .help("How long the enforced revision has been applied here (it keeps being enforced while"
                        + " newer ones are invalid, refused or unreachable).")
                .callback(cb -> {
                    Instant since = appliedSince;
                    if (since != null) {
                        cb.call(Duration.between(since, clock.instant()).toMillis() / 1000.0);
                    }
                }).register(registry);
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /** Adds a collector read at scrape time (the per-rule counters). */
    public void register(MultiCollector collector) {
        registry.register(collector);
    }

    void revision(String id, String shortId, Instant since) {
        revision.setLabelValues(id, shortId);
        appliedSince = since;
    }

    void source(String describe, String revisionSeen, String state) {
        source.setLabelValues(describe, revisionSeen, state);
    }

    void fetched(Instant at) {
        lastFetch.set(at.toEpochMilli() / 1000.0);
    }

    void success(Instant at) {
        lastSuccess.set(at.toEpochMilli() / 1000.0);
    }

    void ready(boolean r) {
        ready.set(r ? 1 : 0);
    }

    void result(Result r) {
        reconciles.labelValues(r.label).inc();
    }

    void duration(Duration d) {
        duration.observe(d.toNanos() / 1e9);
    }

    void driftCheck(boolean counter) {
        driftChecks.labelValues(counter ? "counter" : "full").inc();
    }

    /** The stages of the last new revision, in seconds by stage name. */
    void revisionStages(Map<String, Double> seconds) {
        seconds.forEach((stage, s) -> stages.labelValues(stage).set(s));
    }

    /** For tests: drift checks so far by mode ("counter", "full"). */
    public long driftChecks(String mode) {
        return (long) driftChecks.labelValues(mode).get();
    }

    void driftDetected() {
        driftDetected.inc();
    }

    void driftCorrected() {
        driftCorrected.inc();
    }

    void refused() {
        refused.inc();
    }

    void parsed() {
        parses.inc();
    }

    void stepFailed() {
        stepFailures.inc();
    }

    void applied(ApplyResult r) {
        written.inc(r.entriesWritten());
        deleted.inc(r.entriesDeleted());
    }

    /** Sets each policy's state; policies no longer listed lose their series. */
    synchronized void policyStates(Map<String, String> states) {
        for (String gone : Set.copyOf(policies)) {
            if (!states.containsKey(gone)) {
                POLICY_STATES.forEach(s -> policyState.remove(gone, s));
                policies.remove(gone);
            }
        }
        states.forEach((policy, state) -> {
            policies.add(policy);
            POLICY_STATES.forEach(s -> policyState.labelValues(policy, s).set(s.equals(state) ? 1 : 0));
        });
    }

    /** For tests and logs: the count of parses so far. */
    public long parses() {
        return (long) parses.get();
    }
}
