package dev.bpfgit.diff;

import java.nio.file.Path;
import java.util.List;

/**
 * The changes to one unit, in execution order.
 *
 * @param label    where it acts ({@code "eth0, xdp"}), or its directory for a unit being removed
 * @param policies the policies compiled into it (empty when the unit is removed)
 */
public record UnitPlan(Path dir, String kind, String label, List<String> policies, List<Change> changes) {
    public UnitPlan {
        policies = List.copyOf(policies);
        changes = List.copyOf(changes);
    }
}
