package dev.bpfgit.run;

import dev.bpfgit.apply.ApplyResult;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/** The sidecar's Prometheus metrics (text exposition format). */
public final class Metrics {
    private final Clock clock;
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong invalid = new AtomicLong();
    private final AtomicLong sourceErrors = new AtomicLong();
    private final AtomicLong drifts = new AtomicLong();
    private final AtomicLong entriesWritten = new AtomicLong();
    private final AtomicLong entriesDeleted = new AtomicLong();
    private volatile String revision = "";
    private volatile Instant lastSuccess;
    private volatile double lastSeconds;

    public Metrics(Clock clock) {
        this.clock = clock;
    }

    void success(String rev, Duration took) {
        ok.incrementAndGet();
        revision = rev;
        lastSuccess = clock.instant();
        lastSeconds = took.toNanos() / 1e9;
    }

    void failure() {
        failed.incrementAndGet();
    }

    void invalid() {
        invalid.incrementAndGet();
    }

    void sourceError() {
        sourceErrors.incrementAndGet();
    }

    void drift() {
        drifts.incrementAndGet();
    }

    void applied(ApplyResult r) {
        entriesWritten.addAndGet(r.entriesWritten());
        entriesDeleted.addAndGet(r.entriesDeleted());
    }

    /** Healthy when the last good reconcile is younger than {@code maxAge}. */
    public boolean healthy(Duration maxAge) {
        Instant l = lastSuccess;
        return l != null && Duration.between(l, clock.instant()).compareTo(maxAge) < 0;
    }

    public String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("# HELP bpfgit_reconcile_total Reconciles by result.\n# TYPE bpfgit_reconcile_total counter\n");
        sb.append("bpfgit_reconcile_total{result=\"ok\"} ").append(ok.get()).append('\n');
        sb.append("bpfgit_reconcile_total{result=\"error\"} ").append(failed.get()).append('\n');
        sb.append("bpfgit_reconcile_total{result=\"invalid\"} ").append(invalid.get()).append('\n');
        sb.append("bpfgit_reconcile_total{result=\"source_error\"} ").append(sourceErrors.get()).append('\n');
        sb.append("# HELP bpfgit_drift_detected_total Reconciles that found drift and only reported it.\n")
                .append("# TYPE bpfgit_drift_detected_total counter\nbpfgit_drift_detected_total ")
                .append(drifts.get()).append('\n');
        sb.append("# HELP bpfgit_map_entries_written_total Map entries written by apply.\n")
                .append("# TYPE bpfgit_map_entries_written_total counter\nbpfgit_map_entries_written_total ")
                .append(entriesWritten.get()).append('\n');
        sb.append("# HELP bpfgit_map_entries_deleted_total Map entries deleted by apply.\n")
                .append("# TYPE bpfgit_map_entries_deleted_total counter\nbpfgit_map_entries_deleted_total ")
                .append(entriesDeleted.get()).append('\n');
        sb.append("# HELP bpfgit_revision_info The revision enforced.\n# TYPE bpfgit_revision_info gauge\n")
                .append("bpfgit_revision_info{revision=\"").append(revision).append("\"} 1\n");
        Instant l = lastSuccess;
        if (l != null) {
            sb.append("# HELP bpfgit_last_success_timestamp_seconds When the last reconcile succeeded.\n")
                    .append("# TYPE bpfgit_last_success_timestamp_seconds gauge\n")
                    .append("bpfgit_last_success_timestamp_seconds ").append(l.getEpochSecond()).append('\n');
            sb.append("# HELP bpfgit_revision_age_seconds Age of the enforced revision's last good reconcile.\n")
                    .append("# TYPE bpfgit_revision_age_seconds gauge\nbpfgit_revision_age_seconds ")
                    .append(Duration.between(l, clock.instant()).toSeconds()).append('\n');
            sb.append("# HELP bpfgit_reconcile_duration_seconds Duration of the last good reconcile.\n")
                    .append("# TYPE bpfgit_reconcile_duration_seconds gauge\nbpfgit_reconcile_duration_seconds ")
                    .append(lastSeconds).append('\n');
        }
        return sb.toString();
    }
}
