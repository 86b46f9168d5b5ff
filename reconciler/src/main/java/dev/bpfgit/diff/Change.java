package dev.bpfgit.diff;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.ProgramSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * One imperative step of a plan. The plan printed is the plan executed: apply runs exactly these, in order.
 */
public sealed interface Change {

    /** The pin the step acts on. */
    Path pin();

    /** Create and pin a map. */
    record CreateMap(Path pin, MapSpec spec) implements Change {
    }

    /**
     * A live map whose shape must change: a new map is created at {@code staging}, filled, and the
     * programs are reloaded on it; a later {@link Rename} puts it in place of the old one.
     */
    record ReplaceMap(Path pin, Path staging, MapSpec spec, List<String> reasons) implements Change {
        public ReplaceMap {
            reasons = List.copyOf(reasons);
        }
    }

    /**
     * Adds and changes, in write order (most specific first); {@code before}: entries in the map now. The
     * changes of a diff are an {@link EntryChanges} (immutable, no object per entry), those of a saved plan a
     * {@link SavedEntryChanges}: both kept as they are.
     */
    record PutEntries(Path pin, int before, List<EntryChange> changes) implements Change {
        public PutEntries {
            changes = changes instanceof EntryChanges || changes instanceof SavedEntryChanges ? changes
                    : List.copyOf(changes);
        }
    }

    /**
     * Removals, in removal order (least specific first); they run after every add, except where the map
     * is full: then {@code room} says why they run before the adds that need their room (and, when it is
     * so, that some packets meet neither the old nor the new rule meanwhile). Empty for a normal removal.
     */
    record DeleteEntries(Path pin, int before, List<EntryChange> changes, String room) implements Change {
        public DeleteEntries {
            changes = changes instanceof EntryChanges || changes instanceof SavedEntryChanges ? changes
                    : List.copyOf(changes);
            room = room == null ? "" : room;
        }

        public DeleteEntries(Path pin, int before, List<EntryChange> changes) {
            this(pin, before, changes, "");
        }

        /** True when this removal runs before adds, to make room in a full map. */
        public boolean early() {
            return !room.isEmpty();
        }
    }

    /** Load a program and pin it; {@code replace}: a program is pinned there and links still run it. */
    record LoadProgram(Path pin, ProgramSpec spec, boolean replace, String reason) implements Change {
    }

    /** Attach the pinned program through a new pinned bpf_link. */
    record CreateLink(Path pin, Path program, AttachPoint at) implements Change {
    }

    /** Atomically switch a pinned link to the pinned program (compare-and-swap against the live program). */
    record UpdateLink(Path pin, Path program, Optional<Integer> expectedProgId, String reason) implements Change {
    }

    /** Put a staged object in place of the old one. */
    record Rename(Path pin, Path to) implements Change {
    }

    /** Remove a pin (the object goes with its last reference) or an empty directory. */
    record Unpin(Path pin, Optional<PinType> type, String detail) implements Change {
    }
}
