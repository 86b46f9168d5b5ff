package dev.bpfgit.apply;

import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.EntryChange;
import dev.bpfgit.diff.EntryChanges;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.UnitPlan;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.observe.Meta;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Apply: execute a plan's changes in order, then record the revision and fingerprints with the pins.
 * A failure stops at the failing step; what ran stays (every step leaves the datapath consistent), and
 * the next plan starts from the kernel as it is, so a re-run converges.
 */
public final class Applier {
    private static final Logger LOG = LoggerFactory.getLogger(Applier.class);

    private Applier() {
    }

    /** Entries go to the kernel in batches of this many, so that progress can be told between them. */
    static final int BATCH = 16384;

    /** Told after each step and each batch of entries: steps done, entries written or deleted so far. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (steps, entries) -> { };

        void done(int steps, long entries);
    }

    public static ApplyResult apply(Kernel kernel, Plan plan, Clock clock) {
        return apply(kernel, plan, clock, Progress.NONE);
    }

    public static ApplyResult apply(Kernel kernel, Plan plan, Clock clock, Progress progress) {
        Path root = plan.root();
        Path metaPin = Meta.pin(root);
        if (plan.inSync() && plan.metaDeletes().isEmpty() && recorded(kernel, metaPin, plan.meta())) {
            // the datapath and the bookkeeping already say all of it: an in-sync apply writes no map at all
            // (the applied time stays that of the apply that changed something, as the sidecar keeps it)
            return new ApplyResult(0, 0, 0);
        }
        boolean keepMeta = !plan.meta().isEmpty();
        // a plan of entry writes only (the warm reconcile) writes the bookkeeping once, at the end: it is created
        // then if that write finds none, which saves the check's open of it (a bpf_obj_get, the readlink that tells
        // a map from a program, an info call) on every such apply. Any other plan has it made before its first step.
        // One loop, not two streams: an apply runs this once, in code a sidecar's few applies leave interpreted.
        boolean loads = false;
        boolean entriesOnly = true;
        for (UnitPlan u : plan.units()) {
            for (Change c : u.changes()) {
                loads |= c instanceof Change.LoadProgram;
                entriesOnly &= c instanceof Change.PutEntries || c instanceof Change.DeleteEntries;
            }
        }
        if ((keepMeta && !entriesOnly || loads) && kernel.mapInfo(metaPin).isEmpty()) {
            kernel.makeDirs(root);
            kernel.createMap(metaPin, Meta.spec());
        }
        int steps = 0, written = 0, deleted = 0;
        for (UnitPlan u : plan.units()) {
            release(kernel, root, u);
            for (Change c : u.changes()) {
                PinGuard.check(root, c.pin());
                LOG.debug("{} {}", c.getClass().getSimpleName(), c.pin());
                try {
                    int stepsSoFar = steps;
                    long entriesSoFar = (long) written + deleted;
                    int[] n = step(kernel, root, metaPin, c,
                            batch -> progress.done(stepsSoFar, entriesSoFar + batch));
                    written += n[0];
                    deleted += n[1];
                } catch (RuntimeException e) {
                    recordFailure(kernel, metaPin, u, e);
                    throw new ApplyException(u.label(), u.policies(), e);
                }
                steps++;
                progress.done(steps, (long) written + deleted);
            }
        }
        if (keepMeta) {
            List<Entry> meta = new ArrayList<>();
            for (Map.Entry<String, String> e : plan.meta().entrySet()) {
                meta.addAll(Meta.encode(e.getKey(), e.getValue()));
            }
            meta.add(new Entry(Meta.encodeKey("applied"), Meta.encodeValue(clock.instant().toString())));
            try {
                kernel.update(metaPin, meta);
            } catch (KernelException.NotFound e) {
                if (!entriesOnly || kernel.mapInfo(metaPin).isPresent()) {
                    throw e;
                }
                kernel.makeDirs(root);
                kernel.createMap(metaPin, Meta.spec());
                kernel.update(metaPin, meta);
            }
            List<Bytes> gone = new ArrayList<>();
            // stale keys and, since a successful apply clears them, the failures recorded by earlier ones
            // (the plan lists those it saw live: the basis check covers the bookkeeping map)
            plan.metaDeletes().forEach(k -> gone.addAll(Meta.encodeDelete(k)));
            if (!gone.isEmpty()) {
                kernel.delete(metaPin, gone);
            }
        }
        return new ApplyResult(steps, written, deleted);
    }

    /**
     * A unit the plan removes (only unpins): its kind first undoes what lives outside the pins. Best effort:
     * the removal itself is what the plan promised.
     */
    /** Whether the bookkeeping map holds every key of {@code meta} with the same value. */
    private static boolean recorded(Kernel kernel, Path metaPin, Map<String, String> meta) {
        if (meta.isEmpty()) {
            return true;
        }
        if (kernel.mapInfo(metaPin).isEmpty()) {
            return false;
        }
        Map<Bytes, Bytes> raw = new java.util.HashMap<>();
        kernel.entries(metaPin).forEach(e -> raw.put(e.key(), e.value()));
        Meta live = Meta.decode(raw);
        return meta.entrySet().stream().allMatch(e -> live.get(e.getKey()).equals(java.util.Optional.of(e.getValue())));
    }

    private static void release(Kernel kernel, Path root, UnitPlan u) {
        if (u.changes().isEmpty() || !u.changes().stream().allMatch(c -> c instanceof Change.Unpin)
                || !u.dir().startsWith(root)) {
            return;
        }
        try {
            dev.bpfgit.kind.Kinds.BUILT_IN.owning(root.relativize(u.dir())).ifPresent(k -> k.release(kernel, u.dir()));
        } catch (RuntimeException e) {
            LOG.warn("{}: releasing before removal: {}", u.label(), e.toString());
        }
    }

    /** Executes one change; returns {entries written, entries deleted}. */
    private static int[] step(Kernel kernel, Path root, Path metaPin, Change c,
                              java.util.function.LongConsumer batchDone) {
        switch (c) {
            case Change.CreateMap m -> {
                kernel.makeDirs(m.pin().getParent());
                kernel.createMap(m.pin(), m.spec());
            }
            case Change.ReplaceMap m -> {
                kernel.makeDirs(m.staging().getParent());
                kernel.createMap(PinGuard.check(root, m.staging()), m.spec());
            }
            case Change.PutEntries e -> {
                // a batch at a time: a new map's million entries are not copied into a second list first
                List<EntryChange> changes = e.changes();
                int n = changes.size();
                for (int from = 0; from < n; from += BATCH) {
                    int to = Math.min(n, from + BATCH);
                    List<Entry> batch = new ArrayList<>(to - from);
                    for (int i = from; i < to; i++) {
                        batch.add(changes instanceof EntryChanges ec ? ec.entry(i)
                                : new Entry(changes.get(i).rawKey(), changes.get(i).after().orElseThrow()));
                    }
                    kernel.update(e.pin(), batch);
                    batchDone.accept(to);
                }
                return new int[]{n, 0};
            }
            case Change.DeleteEntries e -> {
                List<EntryChange> changes = e.changes();
                int n = changes.size();
                for (int from = 0; from < n; from += BATCH) {
                    int to = Math.min(n, from + BATCH);
                    List<Bytes> keys = new ArrayList<>(to - from);
                    for (int i = from; i < to; i++) {
                        keys.add(changes instanceof EntryChanges ec ? ec.rawKey(i) : changes.get(i).rawKey());
                    }
                    kernel.delete(e.pin(), keys);
                    batchDone.accept(to);
                }
                return new int[]{0, n};
            }
            case Change.LoadProgram p -> {
                p.spec().maps().values().forEach(m -> PinGuard.check(root, m));
                kernel.makeDirs(p.pin().getParent());
                kernel.loadProgram(p.pin(), p.spec());
                // recorded at once: a crash before the end must not make the program look foreign
                kernel.update(metaPin, Meta.encode(Meta.programKey(root.relativize(p.pin()).toString()),
                        p.spec().identity()));
            }
            case Change.CreateLink l -> kernel.attach(l.pin(), PinGuard.check(root, l.program()), l.at());
            case Change.UpdateLink l -> kernel.updateLink(l.pin(), PinGuard.check(root, l.program()),
                    l.expectedProgId());
            case Change.Rename r -> kernel.rename(r.pin(), PinGuard.check(root, r.to()));
            case Change.Unpin p -> kernel.unpin(p.pin());
        }
        return new int[]{0, 0};
    }

    /** Best effort: status shows the policies of the unit as failed, with the reason. */
    private static void recordFailure(Kernel kernel, Path metaPin, UnitPlan u, RuntimeException e) {
        try {
            if (kernel.mapInfo(metaPin).isEmpty()) {
                return;
            }
            String reason = String.valueOf(e.getMessage());
            if (reason.length() > Meta.VALUE_SIZE - 1) {
                reason = reason.substring(0, Meta.VALUE_SIZE - 4) + "...";
            }
            List<Entry> entries = new ArrayList<>();
            for (String p : u.policies()) {
                entries.addAll(Meta.encode(Meta.FAILED + p, reason));
            }
            kernel.update(metaPin, entries);
        } catch (RuntimeException ignored) {
            // the original failure is what the caller must see
        }
    }
}
