package dev.bpfgit.apply;

import dev.bpfgit.diff.Change;
import dev.bpfgit.diff.EntryChange;
import dev.bpfgit.diff.Plan;
import dev.bpfgit.diff.UnitPlan;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
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

    public static ApplyResult apply(Kernel kernel, Plan plan, Clock clock) {
        Path root = plan.root();
        Path metaPin = Meta.pin(root);
        boolean keepMeta = !plan.meta().isEmpty();
        boolean loads = plan.units().stream().flatMap(u -> u.changes().stream())
                .anyMatch(c -> c instanceof Change.LoadProgram);
        if ((keepMeta || loads) && kernel.mapInfo(metaPin).isEmpty()) {
            kernel.makeDirs(root);
            kernel.createMap(metaPin, Meta.spec());
        }
        int steps = 0, written = 0, deleted = 0;
        for (UnitPlan u : plan.units()) {
            for (Change c : u.changes()) {
                PinGuard.check(root, c.pin());
                LOG.debug("{} {}", c.getClass().getSimpleName(), c.pin());
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
                        List<Entry> entries = new ArrayList<>(e.changes().size());
                        for (EntryChange ec : e.changes()) {
                            entries.add(new Entry(ec.rawKey(), ec.after().orElseThrow()));
                        }
                        kernel.update(e.pin(), entries);
                        written += entries.size();
                    }
                    case Change.DeleteEntries e -> {
                        List<Bytes> keys = new ArrayList<>(e.changes().size());
                        for (EntryChange ec : e.changes()) {
                            keys.add(ec.rawKey());
                        }
                        kernel.delete(e.pin(), keys);
                        deleted += keys.size();
                    }
                    case Change.LoadProgram p -> {
                        p.spec().maps().values().forEach(m -> PinGuard.check(root, m));
                        kernel.makeDirs(p.pin().getParent());
                        kernel.loadProgram(p.pin(), p.spec());
                        // recorded at once: a crash before the end must not make the program look foreign
                        kernel.update(metaPin, List.of(new Entry(
                                Meta.encodeKey(Meta.programKey(root.relativize(p.pin()).toString())),
                                Meta.encodeValue(p.spec().identity()))));
                    }
                    case Change.CreateLink l -> kernel.attach(l.pin(), PinGuard.check(root, l.program()), l.at());
                    case Change.UpdateLink l -> kernel.updateLink(l.pin(), PinGuard.check(root, l.program()),
                            l.expectedProgId());
                    case Change.Rename r -> kernel.rename(r.pin(), PinGuard.check(root, r.to()));
                    case Change.Unpin p -> kernel.unpin(p.pin());
                }
                steps++;
            }
        }
        if (keepMeta) {
            List<Entry> meta = new ArrayList<>();
            for (Map.Entry<String, String> e : plan.meta().entrySet()) {
                meta.add(new Entry(Meta.encodeKey(e.getKey()), Meta.encodeValue(e.getValue())));
            }
            meta.add(new Entry(Meta.encodeKey("applied"), Meta.encodeValue(clock.instant().toString())));
            kernel.update(metaPin, meta);
            if (!plan.metaDeletes().isEmpty()) {
                kernel.delete(metaPin, plan.metaDeletes().stream().map(Meta::encodeKey).toList());
            }
        }
        return new ApplyResult(steps, written, deleted);
    }
}
