package dev.bpfgit.kind;

import tools.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.function.Consumer;

/**
 * A kind's part of {@code status} for one policy in one unit.
 *
 * @param lines printed under the unit's line in text output, indented by the caller
 * @param json  adds the kind's fields to the unit's object in JSON output
 */
public record UnitReport(List<String> lines, Consumer<ObjectNode> json) {
    public static final UnitReport NONE = new UnitReport(List.of(), n -> { });

    public UnitReport {
        lines = List.copyOf(lines);
    }
}
