package dev.bpfgit.diff;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The changes to one unit, in execution order.
 *
 * @param label    where it acts ({@code "eth0, xdp"}), or its directory for a unit being removed
 * @param policies the policies compiled into it (empty when the unit is removed)
 * @param held     entries held now by each map of the unit that exists and keeps its pin (whether or not its
 *                 entries change): the text plan counts a family pair ({@code rules_v4}, {@code rules_v6}) as
 *                 the one table the policy wrote, so it needs the count of the family that does not change;
 *                 empty in a plan saved before it was recorded
 */
public record UnitPlan(Path dir, String kind, String label, List<String> policies, List<Change> changes,
                       Map<Path, Integer> held) {
    public UnitPlan {
        policies = List.copyOf(policies);
        changes = List.copyOf(changes);
        held = Map.copyOf(held);
    }

    public UnitPlan(Path dir, String kind, String label, List<String> policies, List<Change> changes) {
        this(dir, kind, label, policies, changes, Map.of());
    }
}
