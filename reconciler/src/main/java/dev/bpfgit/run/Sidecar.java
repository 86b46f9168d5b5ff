package dev.bpfgit.run;

import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.apply.ApplyException;
import dev.bpfgit.apply.ApplyResult;
import dev.bpfgit.compile.Compiler;
import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.HostFacts;
import dev.bpfgit.diff.Differ;
import dev.bpfgit.diff.ForeignProgramException;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.UnitPlan;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.ErrorFormat;
import dev.bpfgit.policy.Policy;
import dev.bpfgit.policy.PolicyException;
import dev.bpfgit.render.PlanText;
import dev.bpfgit.source.Commit;
import dev.bpfgit.source.FileProblem;
import dev.bpfgit.source.InvalidFilesException;
import dev.bpfgit.source.PolicySource;
import dev.bpfgit.source.RefusedRevisionException;
import dev.bpfgit.source.SettlingSource;
import dev.bpfgit.source.Snapshot;
import dev.bpfgit.source.SourceException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The reconcile loop of design §6 for one host.
 *
 * <p>Two kinds of work, on one thread:
 * <ul>
 * <li><b>source checks</b>: {@link PolicySource#head} on every change event (after a short settle) and
 * every {@code sourceInterval}; only a new head is read, only a new revision is parsed and compiled. A
 * valid revision becomes the <em>enforced</em> one and is applied at once.</li>
 * <li><b>reconciles</b> of the enforced revision every {@code reconcile.interval} (with jitter) and on
 * retries: observe and diff against its kept {@link DesiredState}, never the source, so drift is corrected
 * (or only reported, {@code reconcile.drift: report}) while the source is unreachable, a newer revision is
 * invalid or a commit is refused. It is recompiled, from its kept policies, only when the host changed.</li>
 * </ul>
 * An invalid or refused revision is not read again until the source moves; a failed apply is retried with
 * exponential backoff (1 s to 5 min).
 *
 * <p>Each step is guarded: an {@link Exception} or a {@link StackOverflowError} fails the step (logged,
 * counted) and the loop goes on; any other {@link Error} ends {@link #run} and the process (exit 3).
 */
public final class Sidecar {
    private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);
    /** The longest the loop sleeps, so that /healthz sees it turn even when nothing is due. */
    static final Duration MAX_WAIT = Duration.ofSeconds(2);
    /**
     * Change events come in bursts (an editor's save, a ConfigMap swap): read once they pause... Short, since
     * it only spares reads of a burst's middle: what keeps a half-written file from being applied is the
     * source's own read (DirectoryPolicySource re-reads while events arrive during or just after it, and
     * while a file is empty; a git head is a whole commit). It was 150 ms, all of it in an edit's latency.
     */
    static final Duration SETTLE = Duration.ofMillis(30);
    /** ...or at the latest this long after the first one. */
    static final Duration SETTLE_MAX = Duration.ofMillis(800);
    static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofMinutes(5);
    /** A step running longer than this means the loop is stuck: /healthz fails and the pod is restarted. */
    static final Duration STUCK = Duration.ofMinutes(10);
    private static final int MAX_ERROR_LINES = 20;
    /**
     * With the kernel's map write counter, a reconcile reads only the maps written since the last one; every
     * this many reconciles it reads every map anyway (at the default interval of 60 s, every 10 minutes): the
     * counter does not see writes made by BPF programs.
     */
    static final int FULL_EVERY = 10;
    /**
     * A new revision's garbage is collected (one full collection, which returns the heap grown for it: see
     * checkSource) once no change event has come for this long, not at once: a full collection at 100,000 rules
     * takes 60-100 ms (more under load), and an edit that came during it waited for it (14 of 20 back-to-back
     * edits in bench/sidecar on a loaded machine, by 3-117 ms).
     */
    static final Duration COLLECT_QUIET = Duration.ofMillis(250);
    /**
     * ...unless this many new revisions are uncollected, or the heap is half full: then at once, as before, so
     * that a burst of edits does not grow the heap (at a million rules one revision's garbage alone is that much).
     */
    static final int MAX_UNCOLLECTED = 4;

    /** Source states recorded for status and metrics. */
    public enum SourceState { OK, INVALID, REFUSED, UNREACHABLE;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /**
     * The revision being enforced, as it was validated and compiled: what drift is diffed against.
     *
     * @param applied when this process first saw it applied and in sync; empty until then
     */
    record Enforced(String revision, Optional<Commit> commit, List<Policy> policies, HostFacts facts,
                    DesiredState desired, Optional<Instant> applied) {
        String shortId() {
            return commit.map(Commit::shortId).orElse(revision);
        }
    }

    private final Pipeline pipeline;
    private final PolicySource source;
    private final Supplier<HostFacts> host;
    private final Config config;
    private final Duration sourceInterval;
    private final Clock clock;
    private final Metrics metrics;
    private final SidecarRecord record;
    private final dev.bpfgit.policy.PolicyLoader loader = new dev.bpfgit.policy.PolicyLoader().keepingFiles();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private boolean woken;            // guarded by lock
    private Instant firstChange;      // guarded by lock: change events not yet acted on
    private Instant lastChange;       // guarded by lock

    private volatile boolean stopping;
    private volatile Thread loopThread;
    private volatile long stepStartedNanos;
    private volatile boolean ready;
    private volatile Enforced enforced;
    /**
     * Why the enforced revision is not ready, policy by policy, for the /readyz body: the policies failed (a
     * foreign program in the way, a failed apply) or drifted and left so, each with one line of reason; "" for
     * a failure that names no policy. Empty when ready.
     */
    private volatile Map<String, String> notReady = Map.of();

    // loop thread only
    private String lastHead;
    private String lastSeenRevision = "";
    private String lastParsedRevision;
    private SourceState state = SourceState.OK;
    private String stateError = "";
    private Instant stateSince;
    private Instant lastFetch;
    private String lastUnreachable;
    private Instant nextSourceCheck = Instant.MIN;
    private Instant nextReconcile = Instant.MAX;
    private Instant retryAt;
    private Duration backoff = Duration.ZERO;
    private String appliedRevision;
    private Instant appliedAt;
    private DesiredState runtimesOf;
    private List<PolicyKind.Runtime> runtimes = List.of();
    private Instant nextRuntime = Instant.MIN;
    private boolean restoreTried;
    private dev.bpfgit.kernel.MapWriteCounter writeCounter;
    private boolean counterTried;
    private volatile dev.bpfgit.observe.EntryCache entryCache;
    private Quiet quiet;                         // the last in-sync diff, while nothing changed since
    private int sinceFull;
    private Instant changeSeen;                  // the first change event of the source check in progress
    private Map<String, Long> stages;            // nanoseconds by stage of the new revision being applied
    private Observing ahead;                     // the observation taken while the new revision was parsed
    private final LastGoodStore lastGood;        // a directory source's copy of its last applied revision, or null
    private Snapshot uncopied;                   // the new revision's files until it is applied and copied
    private Instant collectAt;                   // a collection after new revisions, due then (collect)
    private int uncollected;                     // new revisions since the last collection
    Runnable collector = System::gc;             // a test counts the collections instead

    public Sidecar(Pipeline pipeline, PolicySource source, Supplier<HostFacts> host, Config config,
                   Duration sourceInterval, Clock clock, Metrics metrics) {
        // with the write counter, the kernel's map writes made by this process are folded into the kept map
        // contents (EntryCache); without it (the default) nothing is kept and every call goes straight through
        this.pipeline = config.writeCounter()
                ? pipeline.withKernel(dev.bpfgit.observe.EntryCache.recording(pipeline.kernel(), () -> entryCache))
                : pipeline;
        this.source = source;
        this.host = host;
        this.config = config;
        this.sourceInterval = sourceInterval;
        this.clock = clock;
        this.metrics = metrics;
        this.record = new SidecarRecord(this.pipeline.kernel(), pipeline.root());
        this.stateSince = clock.instant();
        this.lastGood = config.sourcePath().isPresent() && config.lastGood().isPresent()
                ? new LastGoodStore(config.lastGood().get(), pipeline.root(), config.sourcePath().get()) : null;
        // with the write counter, a scrape takes the rule maps the loop kept while the kernel counted no write to
        // them since (EntryCache.unchanged) instead of dumping them: at 100k rules most of a scrape's cost
        dev.bpfgit.observe.MapReader scraped = config.writeCounter()
                ? dev.bpfgit.observe.EntryCache.readingKept(pipeline.kernel(), () -> entryCache)
                : dev.bpfgit.observe.MapReader.of(pipeline.kernel());
        for (PolicyKind kind : Kinds.BUILT_IN.all()) {
            kind.metrics(pipeline.kernel(), scraped, () -> {
                Enforced e = enforced;
                return e == null ? null : e.desired();
            }, config.maxRuleSeries()).ifPresent(metrics::register);
        }
        metrics.ready(false);
    }

    // ---- the loop

    /**
     * Runs until {@link #stop}; returns after the step in progress finished. The datapath stays attached.
     *
     * @throws Error a fatal error (other than a stack overflow): the process must end
     */
    public void run() {
        loopThread = Thread.currentThread();
        source.onChange(this::changed);
        try {
            Meta meta = Meta.decode(pipeline.kernel().entries(Meta.pin(pipeline.root())).stream()
                    .collect(java.util.stream.Collectors.toMap(Entry::key, Entry::value)));
            appliedRevision = meta.revision().orElse(null);
            appliedAt = meta.get("applied").map(Sidecar::instant).orElse(null);
        } catch (RuntimeException e) {
            LOG.debug("no bookkeeping map yet: {}", e.toString());   // nothing applied under this root
        }
        LOG.info("watching {} (checked every {}, reconciled every {}, drift: {})", source.describe(),
                Durations.human(sourceInterval), Durations.human(config.interval()),
                config.correctDrift() ? "correct" : "report");
        while (!stopping) {
            stepStartedNanos = System.nanoTime();
            try {
                step();
            } catch (Exception | StackOverflowError e) {
                metrics.stepFailed();
                LOG.error("step failed (enforcing revision {}): {}", shown(enforced), describe(e));
            } finally {
                stepStartedNanos = 0;
            }
            awaitNext();
        }
        closeWriteCounter();
        LOG.info("stopping; the datapath stays attached (revision {})", appliedRevision == null
                ? "none applied" : appliedRevision);
    }

    /** Asks the loop to stop after the current step (SIGTERM); safe from any thread. */
    public void stop() {
        stopping = true;
        signal();
    }

    /** The source may have changed (called from its watcher thread). */
    void changed() {
        lock.lock();
        try {
            Instant now = clock.instant();
            if (firstChange == null) {
                firstChange = now;
            }
            lastChange = now;
            woken = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void signal() {
        lock.lock();
        try {
            woken = true;
            wake.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void awaitNext() {
        lock.lock();
        try {
            if (!woken && !stopping) {
                Instant now = clock.instant();
                Instant due = nextDue();
                Instant capped = now.plus(MAX_WAIT);
                long ms = due.isBefore(now) ? 0 : Duration.between(now, due.isBefore(capped) ? due : capped).toMillis();
                if (ms > 0) {
                    wake.await(ms, TimeUnit.MILLISECONDS);
                }
            }
            woken = false;
        } catch (InterruptedException e) {
            stopping = true;
        } finally {
            lock.unlock();
        }
    }

    private Instant nextDue() {
        Instant due = nextSourceCheck;
        if (enforced != null && nextReconcile.isBefore(due)) {
            due = nextReconcile;
        }
        if (retryAt != null && retryAt.isBefore(due)) {
            due = retryAt;
        }
        if (!runtimes.isEmpty() && nextRuntime.isBefore(due)) {
            due = nextRuntime;
        }
        if (collectAt != null && collectAt.isBefore(due)) {
            due = collectAt;
        }
        Instant change = changeDue();
        return change != null && change.isBefore(due) ? change : due;
    }

    /** When pending change events should be acted on; null when there are none. Caller holds the lock or is the loop. */
    private Instant changeDue() {
        lock.lock();
        try {
            if (firstChange == null) {
                return null;
            }
            Instant settled = lastChange.plus(SETTLE);
            Instant latest = firstChange.plus(SETTLE_MAX);
            return settled.isBefore(latest) ? settled : latest;
        } finally {
            lock.unlock();
        }
    }

    /** Does what is due: a source check, a reconcile of the enforced revision, or nothing. */
    void step() {
        Instant now = clock.instant();
        boolean checked = false;
        Instant change = changeDue();
        // while change events are settling, the periodic check waits for them: it would read a file
        // half-written
        if (change != null ? !now.isBefore(change) : !now.isBefore(nextSourceCheck)) {
            lock.lock();
            try {
                changeSeen = firstChange;
                firstChange = null;
            } finally {
                lock.unlock();
            }
            nextSourceCheck = now.plus(sourceInterval);
            checked = checkSource();
            if (enforced == null && state != SourceState.OK && !restoreTried) {
                restoreApplied();
            }
        }
        now = clock.instant();
        boolean retry = retryAt != null && !now.isBefore(retryAt);
        if (!checked && enforced != null && (retry || !now.isBefore(nextReconcile))) {
            reconcile();
        }
        runtimes();
        if (collectAt != null && !clock.instant().isBefore(collectAt)) {
            if (changeDue() != null) {
                collectAt = clock.instant().plus(COLLECT_QUIET);   // an edit may be on its way: after it
            } else {
                collect();
            }
        }
    }

    /** The full collection after new revisions (see checkSource). */
    private void collect() {
        collectAt = null;
        uncollected = 0;
        collector.run();
    }

    /**
     * The kinds' runtimes of the enforced revision once it is applied, every {@link PolicyKind.Runtime#INTERVAL}
     * (a restarted member of a ReusePortGroup is adopted again well within a second).
     */
    private void runtimes() {
        Enforced e = enforced;
        if (e == null || e.applied().isEmpty()) {
            runtimes = List.of();
            return;
        }
        if (runtimesOf != e.desired()) {
            runtimesOf = e.desired();
            runtimes = pipeline.runtimes(e.desired());
            nextRuntime = Instant.MIN;
        }
        Instant now = clock.instant();
        if (runtimes.isEmpty() || now.isBefore(nextRuntime)) {
            return;
        }
        nextRuntime = now.plus(PolicyKind.Runtime.INTERVAL);
        for (PolicyKind.Runtime r : runtimes) {
            try {
                r.reconcile();
            } catch (RuntimeException x) {
                LOG.warn("runtime pass failed: {}", x.toString());
            }
        }
    }

    // ---- the source

    /** @return true when it reconciled (a new valid revision) */
    private boolean checkSource() {
        return checkSource(source instanceof SettlingSource);
    }

    /**
     * @param early read without waiting for the source to settle ({@link SettlingSource}), parse and compile, and
     *              only then ask whether the read was settled: the quiet time after a directory's read (50 ms)
     *              passes while the revision is parsed, not before. Whatever an unsettled read led to (a revision,
     *              or errors) is dropped unseen and the source read again as before, settled.
     */
    private boolean checkSource(boolean early) {
        String head;
        try {
            head = source.head();
        } catch (SourceException e) {
            unreachable(e);
            return false;
        }
        lastFetch = clock.instant();
        metrics.fetched(lastFetch);
        if (head.equals(lastHead)) {
            if (state == SourceState.UNREACHABLE) {
                state(SourceState.OK, "");   // reachable again, and nothing new
            }
            publish(head);
            return false;
        }
        Snapshot snapshot;
        SettlingSource.Early unsettled = null;
        long readStart = System.nanoTime();
        try {
            if (early) {
                try {
                    unsettled = ((SettlingSource) source).readEarly(head);
                } catch (InvalidFilesException e) {
                    return readAgain();   // refused files may be half-written ones: only a settled read says
                }
                snapshot = unsettled.snapshot();
            } else {
                snapshot = source.read(head);
            }
        } catch (RefusedRevisionException e) {
            lastHead = head;
            lastSeenRevision = e.revision();
            metrics.refused();
            metrics.result(Metrics.Result.REFUSED);
            state(SourceState.REFUSED, e.reason());
            LOG.warn("revision {} refused: {}; {}", e.revision(), e.reason(), keeping());
            publish(head);
            return false;
        } catch (InvalidFilesException e) {
            // files no policy can come from (not UTF-8, a link out of the source, a fifo): a mistake in this
            // revision, like an invalid policy, not an unreachable source; read again when the source moves
            lastHead = head;
            // a git head is the commit; a directory's is an event counter, so name the directory instead
            invalid(head.matches("[0-9a-f]{40}") ? head : "at " + source.describe(),
                    e.problems().stream().map(FileProblem::toString).toList());
            publish(head);
            return false;
        } catch (SourceException e) {
            unreachable(e);   // lastHead unchanged: read again at the next check
            return false;
        }
        lastHead = head;
        lastSeenRevision = snapshot.revision();
        Enforced current = enforced;
        if (current != null && current.revision().equals(snapshot.revision())
                || snapshot.revision().equals(lastParsedRevision)) {
            // the same files again (a touched file, a safety re-read): no parse, no compile
            if (current != null && current.revision().equals(snapshot.revision())) {
                state(SourceState.OK, "");
            }
            publish(head);
            return false;
        }
        lastParsedRevision = snapshot.revision();
        metrics.parsed();
        Observing observing = observeAhead(current);
        Map<String, Long> timed = new LinkedHashMap<>();
        long parseStart = System.nanoTime();
        timed.put("wait", changeSeen == null ? 0 : Math.max(0, Duration.between(changeSeen, clock.instant()).toNanos()
                - (parseStart - readStart)));
        timed.put("read", parseStart - readStart);
        List<Policy> policies;
        try {
            Pipeline.requireFiles(snapshot);
            policies = loader.load(snapshot);   // only files changed since the last revision are parsed
        } catch (PolicyException e) {
            discard(observing);
            if (!settled(unsettled)) {
                return readAgain();
            }
            invalid(snapshot.revision(), e.errors().stream().map(ErrorFormat::text).toList());
            publish(head);
            return false;
        } catch (RuntimeException | StackOverflowError e) {
            discard(observing);
            if (!settled(unsettled)) {
                return readAgain();
            }
            // no policy files at all, or a parser failure not turned into a policy error: it is about this
            // input, so the revision is invalid and not parsed again
            invalid(snapshot.revision(), List.of(describe(e)));
            publish(head);
            return false;
        }
        long compileStart = System.nanoTime();
        timed.put("parse", compileStart - parseStart);
        Enforced next;
        try {
            HostFacts facts = host.get();
            DesiredState desired = Compiler.compile(pipeline.root(), snapshot.revision(), policies, facts)
                    .withCommit(snapshot.commit());
            next = new Enforced(snapshot.revision(), snapshot.commit(), policies, facts, desired, Optional.empty());
        } catch (PolicyException e) {
            discard(observing);
            if (!settled(unsettled)) {
                return readAgain();
            }
            invalid(snapshot.revision(), e.errors().stream().map(ErrorFormat::text).toList());
            publish(head);
            return false;
        } catch (RuntimeException e) {
            discard(observing);
            // reading the host failed, not the revision: read and compile it again at the next check
            lastHead = null;
            lastParsedRevision = null;
            throw e;
        }
        long settleStart = System.nanoTime();
        timed.put("compile", settleStart - compileStart);
        if (unsettled != null) {
            if (!settled(unsettled)) {
                discard(observing);
                return readAgain();
            }
            timed.put("settle", System.nanoTime() - settleStart);
        }
        // no kernel write (publish, apply) before the observation ahead has finished: see observeAhead
        observing = observing == null ? null : observing.await();
        enforced = next;
        uncopied = lastGood == null ? null : snapshot;
        state(SourceState.OK, "");
        publish(head);
        LOG.info("revision {}{}: {} {} valid", next.revision(),
                next.commit().map(c -> " (" + c.subject() + ", " + c.author() + ")").orElse(""),
                next.policies().size(), next.policies().size() == 1 ? "policy" : "policies");
        backoff = Duration.ZERO;
        retryAt = null;
        stages = timed;
        ahead = observing;
        try {
            reconcile();
        } finally {
            stages = null;
            ahead = null;
        }
        // reading 100,000 rules makes hundreds of MB of garbage, and the heap grown for it would stay
        // committed (RSS) until the next full collection, days away in an idle sidecar: one collection after
        // new revisions returns it (the launcher's -XX:MaxHeapFreeRatio for run lets the heap shrink), once the
        // source is quiet (COLLECT_QUIET)
        Runtime rt = Runtime.getRuntime();
        if (++uncollected >= MAX_UNCOLLECTED || rt.totalMemory() - rt.freeMemory() > rt.maxMemory() / 2) {
            collect();
        } else {
            collectAt = clock.instant().plus(COLLECT_QUIET);
        }
        return true;
    }

    /** Whether an early read was settled; true for a read that settled itself (null). */
    private static boolean settled(SettlingSource.Early early) {
        return early == null || early.settled();
    }

    /** After an early read that was not settled: what it led to is dropped, and the source read again, settled. */
    private boolean readAgain() {
        lastHead = null;
        lastParsedRevision = null;
        return checkSource(false);
    }

    /**
     * At start, with the head refused, invalid or unreachable: the revision the pins record as applied becomes
     * the enforced one again ({@link LastGood}), reconciled at once; the head stays reported as it is.
     */
    private void restoreApplied() {
        restoreTried = true;
        LastGood.applied(pipeline).flatMap(r -> LastGood.read(source, lastGood, pipeline, r, host)).ifPresent(e -> {
            enforced = e;
            nextReconcile = clock.instant();
        });
    }

    private void unreachable(SourceException e) {
        metrics.result(Metrics.Result.SOURCE_ERROR);
        state(SourceState.UNREACHABLE, e.getMessage());
        if (!e.getMessage().equals(lastUnreachable)) {
            LOG.warn("source {} unreachable: {}; {}", source.describe(), e.getMessage(), keeping());
        }
        lastUnreachable = e.getMessage();
        publish(lastHead == null ? "" : lastHead);
    }

    private void invalid(String revision, List<String> errors) {
        metrics.result(Metrics.Result.INVALID);
        String first = errors.isEmpty() ? "invalid" : errors.getFirst();
        state(SourceState.INVALID, first + (errors.size() > 1 ? " (and " + (errors.size() - 1) + " more)" : ""));
        LOG.error("revision {} is invalid ({} {}), nothing applied; {}", revision, errors.size(),
                errors.size() == 1 ? "error" : "errors", keeping());
        errors.stream().limit(MAX_ERROR_LINES).forEach(e -> LOG.error("revision {}: {}", revision, e));
        if (errors.size() > MAX_ERROR_LINES) {
            LOG.error("revision {}: ... and {} more", revision, errors.size() - MAX_ERROR_LINES);
        }
    }

    private void state(SourceState s, String error) {
        if (s != state || !error.equals(stateError)) {
            if (s != state) {
                stateSince = clock.instant();
            }
            state = s;
            stateError = error;
        }
        if (s != SourceState.UNREACHABLE) {
            lastUnreachable = null;
        }
    }

    /** The source's state to metrics and to the bookkeeping map (for status); the map only on change. */
    private void publish(String head) {
        metrics.source(source.describe(), lastSeenRevision, state.label());
        Map<String, String> m = new LinkedHashMap<>();
        m.put(SidecarRecord.SOURCE, source.describe());
        m.put(SidecarRecord.HEAD, head);
        m.put(SidecarRecord.REVISION, lastSeenRevision);
        m.put(SidecarRecord.STATE, state.label());
        m.put(SidecarRecord.ERROR, stateError);
        m.put(SidecarRecord.SINCE, stateSince.toString());
        if (lastFetch != null) {
            m.put(SidecarRecord.FETCHED, lastFetch.toString());
        }
        record.write(m);
    }

    // ---- reconcile the enforced revision

    private void reconcile() {
        Enforced e = enforced;
        Instant start = clock.instant();
        long t0 = System.nanoTime();
        nextReconcile = start.plus(jittered(config.interval()));
        retryAt = null;
        try {
            Observing a = ahead;
            ahead = null;
            e = recompileIfHostChanged(e);
            long observeStart = System.nanoTime();
            LiveState live;
            if (a != null && a.points().equals(Pipeline.attachPoints(e.desired()))) {
                live = a.live().get();   // taken while it was parsed and compiled (observeAhead)
                observed();
            } else {
                live = observe(e);
            }
            long diffStart = System.nanoTime();
            if (appliedRevision == null) {
                appliedRevision = live.meta().revision().orElse(null);
                appliedAt = live.meta().get("applied").map(Sidecar::instant).orElse(null);
            }
            // a unit a foreign program refuses is left as it is, its policies failed; the rest is applied
            List<ForeignProgramException> refused = List.of();
            Plan plan;
            if (unchanged(e, live)) {
                plan = quiet.plan();
            } else {
                Differ.Around around = Differ.diffAround(Kinds.BUILT_IN, e.desired(), live);
                plan = around.plan();
                refused = around.refused();
            }
            long applyStart = System.nanoTime();
            boolean recorded = live.meta().revision().equals(Optional.of(e.revision()));
            boolean first = e.applied().isEmpty() && !recorded;
            Set<String> drifted = policiesChanged(plan);
            boolean inSync = true;
            if (plan.inSync()) {
                if (!recorded || !refused.isEmpty()) {
                    pipeline.apply(plan);   // nothing to change in the datapath: records the revision (and failures)
                }
                if (first) {
                    LOG.info("revision {} in sync", e.revision());
                }
            } else if (first || config.correctDrift()) {
                // the counts as the text plan shows them (a table kept as two family maps once): the log line
                // reads as `plan` does; the metrics count what apply writes
                if (first) {
                    LOG.info("revision {}: {}", e.revision(), PlanText.summary(plan));
                } else {
                    metrics.driftDetected();
                    LOG.warn("revision {} drifted in {}, correcting: {}", e.revision(), drifted,
                            PlanText.summary(plan));
                }
                ApplyResult r = pipeline.apply(plan);
                metrics.applied(r);
                if (!first) {
                    metrics.driftCorrected();
                }
                LOG.info("revision {} applied: {} steps, {} entries written, {} deleted", e.revision(), r.steps(),
                        r.entriesWritten(), r.entriesDeleted());
            } else {
                metrics.driftDetected();
                inSync = false;
                LOG.warn("revision {} drifted in {}, not correcting (reconcile.drift: report): {}", e.revision(),
                        drifted, PlanText.summary(plan));
            }
            // an in-sync result, with what it was diffed from: the next tick that finds the same needs no diff
            // (only with the write counter, which is what tells that nothing changed since: without it the
            // live state, every map's contents, would be kept for nothing, in the idle sidecar's RSS; and a
            // refused unit is looked at again every tick: the foreign program may have gone)
            quiet = plan.inSync() && recorded && entryCache != null && refused.isEmpty()
                    ? new Quiet(e.desired(), live, plan) : null;
            stagesDone(e, observeStart, diffStart, applyStart);
            Instant now = clock.instant();
            if (e.applied().isEmpty()) {
                e = new Enforced(e.revision(), e.commit(), e.policies(), e.facts(), e.desired(), Optional.of(now));
            }
            enforced = e;
            keepCopy(e);
            if (!e.revision().equals(appliedRevision) || appliedAt == null) {
                appliedRevision = e.revision();
                appliedAt = now;
            }
            metrics.revision(e.revision(), e.shortId(), e.applied().get());
            if (!refused.isEmpty()) {
                refused(e, refused, inSync ? Set.of() : drifted);
                return;
            }
            backoff = Duration.ZERO;
            notReady = inSync ? Map.of() : reasons(drifted, "drifted, not corrected (reconcile.drift: report)");
            ready = inSync;
            metrics.ready(inSync);
            metrics.result(Metrics.Result.OK);
            metrics.success(now);
            metrics.policyStates(states(e, inSync ? Set.of() : drifted, Set.of()));
        } catch (RuntimeException x) {
            quiet = null;
            // apply (ApplyException names the policies), observe, or a foreign program in the way
            failed(e, x, x instanceof ApplyException a ? a.policies() : List.of());
        } finally {
            metrics.duration(Duration.ofNanos(System.nanoTime() - t0));
        }
    }

    /** Once a directory's new revision is applied: its files are copied for a restart while the directory is bad. */
    private void keepCopy(Enforced e) {
        Snapshot s = uncopied;
        if (s != null && s.revision().equals(e.revision())) {
            uncopied = null;
            try {
                lastGood.save(s);
            } catch (RuntimeException x) {
                LOG.warn("revision {} applied, but no copy of it is kept: {}; a restart while the directory is"
                        + " invalid would not correct drift", e.revision(), x.getMessage());
            }
        }
    }

    /**
     * Units left out because a foreign program is at their attach point: the rest of the revision is applied,
     * those policies are failed (status reads the reason recorded with the pins) and retried with backoff.
     */
    private void refused(Enforced e, List<ForeignProgramException> refused, Set<String> drifted) {
        backoff = backoff.isZero() ? MIN_BACKOFF : min(backoff.multipliedBy(2), MAX_BACKOFF);
        retryAt = clock.instant().plus(backoff);
        ready = false;
        metrics.ready(false);
        metrics.result(Metrics.Result.ERROR);
        Set<String> failed = new TreeSet<>();
        refused.forEach(r -> failed.addAll(r.policies()));
        Map<String, String> why = new TreeMap<>(reasons(drifted, "drifted, not corrected (reconcile.drift: report)"));
        refused.forEach(r -> why.putAll(reasons(r.policies(), r.getMessage())));
        notReady = Map.copyOf(why);
        metrics.policyStates(states(e, drifted, failed));
        for (ForeignProgramException r : refused) {
            LOG.error("revision {} {} failed, the rest applied: {}; retrying in {}", e.revision(), r.policies(),
                    r.getMessage(), Durations.human(backoff));
        }
    }

    private void failed(Enforced e, RuntimeException x, List<String> policies) {
        enforced = e;
        backoff = backoff.isZero() ? MIN_BACKOFF : min(backoff.multipliedBy(2), MAX_BACKOFF);
        retryAt = clock.instant().plus(backoff);
        ready = false;
        metrics.ready(false);
        metrics.result(Metrics.Result.ERROR);
        Set<String> failed = new TreeSet<>(policies);
        // an apply names its policies and says why in its cause (what status shows with them)
        String why = x instanceof ApplyException && x.getCause() != null ? x.getCause().getMessage() : x.getMessage();
        notReady = failed.isEmpty() ? Map.of("", oneLine(x.getMessage())) : reasons(failed, why);
        metrics.policyStates(states(e, Set.of(), failed));
        LOG.error("revision {}{} failed: {}; retrying in {}", e.revision(), failed.isEmpty() ? "" : " " + failed,
                x.getMessage(), Durations.human(backoff));
    }

    // ---- the map write counter: drift ticks that read only what was written

    /** Loads the kernel's map write counter; without it every reconcile reads every map, as before. */
    private void openWriteCounter() {
        try {
            writeCounter = pipeline.kernel().mapWriteCounter(dev.bpfgit.compile.Objects.get("mapwrites.bpf.o"))
                    .orElse(null);
        } catch (RuntimeException x) {
            LOG.info("no map write counter ({}): every drift tick reads every map", x.getMessage());
            writeCounter = null;
        }
        if (writeCounter != null) {
            entryCache = new dev.bpfgit.observe.EntryCache(writeCounter);
            LOG.info("map write counter loaded: a drift tick reads only maps written since the last one (all of"
                    + " them every {} reconciles)", FULL_EVERY);
        }
    }

    private void closeWriteCounter() {
        if (writeCounter != null) {
            try {
                writeCounter.close();
            } catch (RuntimeException x) {
                LOG.warn("close the map write counter: {}", x.toString());
            }
            writeCounter = null;
            entryCache = null;
        }
    }

    /** Observes the enforced revision's state, reading only the maps written since, unless a full one is due. */
    private LiveState observe(Enforced e) {
        if (!counterTried) {
            counterTried = true;   // here, on the loop thread, which also closes it (run)
            if (config.writeCounter()) {
                openWriteCounter();
            }
        }
        LiveState live = observe(Pipeline.attachPoints(e.desired()));
        observed();
        return live;
    }

    /** The observation itself: on the loop thread, or on the one of {@link #observeAhead} while the loop waits. */
    private LiveState observe(List<dev.bpfgit.kernel.AttachPoint> points) {
        dev.bpfgit.observe.EntryCache cache = entryCache;
        if (cache == null) {
            return pipeline.observe(points);
        }
        if (++sinceFull >= FULL_EVERY) {
            sinceFull = 0;
            cache.forget();
        }
        try {
            return pipeline.observe(points, cache);
        } catch (RuntimeException x) {
            cache.forget();
            throw x;
        }
    }

    /** After an observation, on the loop thread. */
    private void observed() {
        dev.bpfgit.observe.EntryCache cache = entryCache;
        metrics.driftCheck(cache != null && cache.read() == 0);
        if (cache != null) {
            LOG.debug("observed: {} maps kept (no write since read), {} read", cache.reused(), cache.read());
        }
    }

    /**
     * Starts observing the live state, for the attach points of the revision enforced so far, on a thread of its
     * own while the loop parses and compiles a new revision (issue 10: on a second core the observation then
     * costs the edit nothing); null when there is nothing to observe ahead for (no revision yet, or the write
     * counter not opened yet: that happens on the loop thread). {@link #reconcile} takes it when the new
     * revision attaches at the same points, the usual edit, and observes again otherwise.
     *
     * <p>Why an observation taken before the parse is as good as one taken after it: both precede the diff
     * and the apply, and between this observation and the apply nothing here writes to the kernel (the loop
     * reads files, parses, compiles, and reads the host's facts; {@link Observing#await} is called before any
     * write: publish, apply, and the EntryCache those writes are folded into is not thread-safe). The sidecar
     * holds the pin root's writer lock, so no other bpfgit writes under it meanwhile. A foreign write after
     * the observation is the race that a write between observe and apply always was: the applier's protections
     * are unchanged (it checks each pin with PinGuard, writes the plan's entries and records the revision;
     * a saved plan's basis check is the CLI's), and the next drift tick sees and corrects it (with the write
     * counter, a foreign write leaves a count that does not match what was kept, so that map is read again).
     */
    private Observing observeAhead(Enforced current) {
        if (current == null || !counterTried) {
            return null;
        }
        List<dev.bpfgit.kernel.AttachPoint> points = Pipeline.attachPoints(current.desired());
        return new Observing(points, Ahead.start("bpfgit-observe", () -> observe(points)));
    }

    /** Waits for an observation ahead that will not be used: nothing may write to the kernel while it runs. */
    private static void discard(Observing a) {
        if (a != null) {
            a.await();
        }
    }

    /** An observation started ahead, for these attach points. */
    private record Observing(List<dev.bpfgit.kernel.AttachPoint> points, Ahead<LiveState> live) {
        Observing await() {
            live.await();
            return this;
        }
    }

    private record Quiet(DesiredState desired, LiveState live, Plan plan) {
    }

    /**
     * Whether the last in-sync diff holds for {@code live}: the same compiled revision, and a live state equal
     * to the one it was diffed from, every map's contents the very ones kept then (EntryCache: no write since),
     * but for the sidecar's own status keys in the bookkeeping map, which diff leaves alone.
     */
    private boolean unchanged(Enforced e, LiveState live) {
        Quiet q = quiet;
        if (q == null || q.desired() != e.desired() || entryCache == null || entryCache.read() > 0) {
            return false;
        }
        LiveState was = q.live();
        if (!was.programs().equals(live.programs()) || !was.links().equals(live.links())
                || !was.dirs().equals(live.dirs()) || !was.attached().equals(live.attached())
                || !was.interfaces().equals(live.interfaces()) || !was.cgroups().equals(live.cgroups())
                || !was.maps().keySet().equals(live.maps().keySet())
                || !withoutSidecar(was.meta()).equals(withoutSidecar(live.meta()))) {
            return false;
        }
        Path meta = dev.bpfgit.observe.Meta.pin(pipeline.root());
        for (var m : live.maps().values()) {
            var before = was.maps().get(m.pin());
            if (!before.info().equals(m.info()) || before.entries().isPresent() != m.entries().isPresent()) {
                return false;
            }
            if (!m.pin().equals(meta) && m.entries().isPresent() && before.entries().get() != m.entries().get()) {
                return false;   // identity: kept contents are the same object while nothing wrote
            }
        }
        return true;
    }

    private static Map<String, String> withoutSidecar(Meta meta) {
        Map<String, String> m = new TreeMap<>(meta.values());
        m.keySet().removeIf(k -> k.startsWith(Meta.SIDECAR));
        return m;
    }

    /** For a new revision: one line and the metric with where its time went, from its change event on. */
    private void stagesDone(Enforced e, long observeStart, long diffStart, long applyStart) {
        Map<String, Long> t = stages;
        if (t == null) {
            return;
        }
        stages = null;
        long end = System.nanoTime();
        t.put("observe", diffStart - observeStart);
        t.put("diff", applyStart - diffStart);
        t.put("apply", end - applyStart);
        t.put("total", t.values().stream().mapToLong(Long::longValue).sum());
        Map<String, Double> seconds = new LinkedHashMap<>();
        StringBuilder line = new StringBuilder();
        t.forEach((stage, ns) -> {
            seconds.put(stage, ns / 1e9);
            line.append(line.isEmpty() ? "" : ", ").append(stage).append(' ').append(ns / 1_000_000).append(" ms");
        });
        metrics.revisionStages(seconds);
        LOG.info("revision {} reached the kernel: {}{}", e.revision(), line,
                entryCache == null ? "" : " (maps read " + entryCache.read() + ", kept " + entryCache.reused() + ")");
    }

    private Enforced recompileIfHostChanged(Enforced e) {
        HostFacts facts = host.get();
        if (facts.equals(e.facts()) || used(facts, e.desired()).equals(used(e.facts(), e.desired()))) {
            return e;
        }
        try {
            DesiredState d = Compiler.compile(pipeline.root(), e.revision(), e.policies(), facts)
                    .withCommit(e.commit());
            LOG.info("host changed (interfaces {}): revision {} recompiled for it", facts.interfaces().keySet(),
                    e.revision());
            Enforced r = new Enforced(e.revision(), e.commit(), e.policies(), facts, d, e.applied());
            enforced = r;
            return r;
        } catch (PolicyException x) {
            LOG.error("host changed (interfaces {}): revision {} does not compile for it, enforcing it as compiled"
                    + " before: {}", facts.interfaces().keySet(), e.revision(), x.getMessage().lines().findFirst()
                    .orElse(""));
            return e;
        }
    }

    /**
     * The facts a compile of {@code desired} depends on: of the host's cgroups only those it attaches to (a
     * policy naming a missing cgroup does not compile, so there is none other). On a busy host cgroups come
     * and go all the time (every container), and each would otherwise recompile 100,000 rules at a tick.
     */
    private static HostFacts used(HostFacts facts, DesiredState desired) {
        Set<String> attached = new TreeSet<>();
        for (dev.bpfgit.kernel.AttachPoint at : Pipeline.attachPoints(desired)) {
            if (at instanceof dev.bpfgit.kernel.AttachPoint.Cgroup c) {
                attached.add(c.path());
            }
        }
        return new HostFacts(facts.name(), facts.labels(), facts.interfaces(), facts.cgroups().map(all -> {
            Map<String, Long> m = new TreeMap<>(all);
            m.keySet().retainAll(attached);
            return m;
        }), facts.features());
    }

    private static Set<String> policiesChanged(Plan plan) {
        Set<String> s = new TreeSet<>();
        for (UnitPlan u : plan.units()) {
            if (!u.changes().isEmpty()) {
                s.addAll(u.policies());
            }
        }
        return s;
    }

    private static Map<String, String> states(Enforced e, Set<String> drifted, Set<String> failed) {
        Map<String, String> m = new TreeMap<>();
        for (Policy p : e.desired().policies()) {
            m.put(p.id(), failed.contains(p.id()) ? "failed" : drifted.contains(p.id()) ? "drifted" : "in_sync");
        }
        return m;
    }

    // ---- health

    /** /healthz: the loop thread runs and no step has been running for longer than {@link #STUCK}. */
    public boolean alive() {
        Thread t = loopThread;
        long started = stepStartedNanos;
        return t != null && t.isAlive()
                && (started == 0 || System.nanoTime() - started < STUCK.toNanos());
    }

    /** /readyz: the enforced revision is applied and in sync, with no apply failure pending. */
    public boolean ready() {
        return ready;
    }

    /**
     * Why not ready, for the /readyz body: a first line, then one line per policy that failed or drifted with
     * its reason ({@code TrafficPolicy/in: eth0 tcx-ingress: program id 41 "ratelimit" is attached ...}).
     */
    public String readiness() {
        Enforced e = enforced;
        if (ready) {
            return "revision " + e.revision() + " applied and in sync";
        }
        if (e == null) {
            return "no valid revision yet (source " + state.label() + ")";
        }
        StringBuilder sb = new StringBuilder("revision ").append(e.revision())
                .append(retryAt != null ? " failed to apply, retrying" : " not in sync");
        notReady.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(p -> sb.append('\n')
                .append(p.getKey().isEmpty() ? "" : p.getKey() + ": ").append(p.getValue()));
        return sb.toString();
    }

    /** The longest reason /readyz gives a policy: a line, not the whole advice of a long error. */
    static final int READY_REASON_CHARS = 200;

    private static Map<String, String> reasons(java.util.Collection<String> policies, String why) {
        Map<String, String> m = new TreeMap<>();
        String line = oneLine(why);
        policies.forEach(p -> m.put(p, line));
        return Map.copyOf(m);
    }

    /** The first line of a message, cut to {@link #READY_REASON_CHARS}. */
    static String oneLine(String message) {
        String line = message == null ? "unknown error" : message.lines().findFirst().orElse("").strip();
        return line.length() <= READY_REASON_CHARS ? line : line.substring(0, READY_REASON_CHARS - 3) + "...";
    }

    public Optional<String> enforcedRevision() {
        return Optional.ofNullable(enforced).map(Enforced::revision);
    }

    SourceState sourceState() {
        return state;
    }

    String sourceError() {
        return stateError;
    }

    Optional<Instant> retryAt() {
        return Optional.ofNullable(retryAt);
    }

    // ---- helpers

    /** "keeping revision X applied 4m ago", or that nothing is applied yet. */
    private String keeping() {
        if (appliedRevision == null) {
            return "nothing applied yet";
        }
        return "keeping revision " + appliedRevision
                + (appliedAt == null ? "" : " applied " + Durations.human(Duration.between(appliedAt, clock.instant()))
                + " ago");
    }

    private static String shown(Enforced e) {
        return e == null ? "none" : e.revision();
    }

    private static String describe(Throwable t) {
        if (t instanceof StackOverflowError) {
            return "stack overflow (input nested too deeply?)";
        }
        if (t instanceof SourceException && t.getMessage() != null) {
            return t.getMessage();
        }
        return t.getMessage() == null ? t.toString() : t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    private static Instant instant(String s) {
        try {
            return Instant.parse(s);
        } catch (java.time.format.DateTimeParseException e) {
            return null;
        }
    }

    private Duration jittered(Duration d) {
        double j = config.jitter() <= 0 ? 0 : ThreadLocalRandom.current().nextDouble(-config.jitter(), config.jitter());
        return Duration.ofMillis(Math.max(1000, (long) (d.toMillis() * (1 + j))));
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) < 0 ? a : b;
    }
}
