package dev.bpfgit.diff;

import dev.bpfgit.observe.Basis;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The difference between a desired and a live state.
 *
 * @param basisDigest digest of the live state it was computed against ({@link #basis()}); apply of a saved
 *                 plan refuses to run when the live state no longer has this digest
 * @param meta     bookkeeping written after the changes (revision, policy digests, unit fingerprints);
 *                 {@code metaDeletes} are the keys to remove
 * @param warnings things an operator should know that are not changes (a foreign program coexisting, ...)
 */
public record Plan(Path root, String revision, Basis basisDigest, List<UnitPlan> units, Map<String, String> meta,
                   List<String> metaDeletes, List<String> warnings) {
    public Plan {
        units = List.copyOf(units);
        meta = Map.copyOf(meta);
        metaDeletes = List.copyOf(metaDeletes);
        warnings = List.copyOf(warnings);
    }

    public Plan(Path root, String revision, String basis, List<UnitPlan> units, Map<String, String> meta,
                List<String> metaDeletes, List<String> warnings) {
        this(root, revision, Basis.of(basis), units, meta, metaDeletes, warnings);
    }

    /** The digest of the live state the plan was computed against (computed on the first call). */
    public String basis() {
        return basisDigest.value();
    }

    /** True when apply would change nothing in the datapath (bookkeeping aside). */
    public boolean inSync() {
        for (UnitPlan u : units) {   // a loop: apply asks once per plan, in code that mostly runs interpreted
            if (!u.changes().isEmpty()) {
                return false;
            }
        }
        return true;
    }

    public Summary summary() {
        return Summary.of(this);
    }
}
