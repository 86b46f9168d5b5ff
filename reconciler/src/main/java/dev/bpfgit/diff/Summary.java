package dev.bpfgit.diff;

import java.util.HashSet;
import java.util.Set;

/**
 * The counts in {@code Plan: 1 to create, 2 to change, 0 to remove; entries +1 ~1 -1.} Objects are maps,
 * programs and links: a map whose entries change counts once as changed.
 */
public record Summary(int create, int change, int remove, int added, int changed, int removed) {

    static Summary of(Plan plan) {
        int create = 0, change = 0, remove = 0, added = 0, changed = 0, removed = 0;
        for (UnitPlan u : plan.units()) {
            Set<java.nio.file.Path> created = new HashSet<>();
            Set<java.nio.file.Path> touched = new HashSet<>();
            for (Change c : u.changes()) {
                switch (c) {
                    case Change.CreateMap m -> {
                        create++;
                        created.add(m.pin());
                    }
                    case Change.ReplaceMap m -> {
                        change++;
                        created.add(m.staging());
                        touched.add(m.pin());
                    }
                    case Change.LoadProgram p -> {
                        if (p.replace()) {
                            change++;
                        } else {
                            create++;
                        }
                    }
                    case Change.CreateLink l -> create++;
                    case Change.UpdateLink l -> change++;
                    case Change.Unpin p -> {
                        if (p.type().isPresent()) {
                            remove++;
                        }
                    }
                    case Change.Rename r -> {
                    }
                    case Change.PutEntries e -> {
                        if (e.changes() instanceof EntryChanges ec) {
                            int adds = ec.count('+');
                            added += adds;
                            changed += ec.size() - adds;
                        } else {
                            for (EntryChange ec : e.changes()) {
                                if (ec.symbol() == '+') {
                                    added++;
                                } else {
                                    changed++;
                                }
                            }
                        }
                        if (!created.contains(e.pin()) && touched.add(e.pin())) {
                            change++;
                        }
                    }
                    case Change.DeleteEntries e -> {
                        removed += e.changes().size();
                        if (!created.contains(e.pin()) && touched.add(e.pin())) {
                            change++;
                        }
                    }
                }
            }
        }
        return new Summary(create, change, remove, added, changed, removed);
    }

    @Override
    public String toString() {
        return "Plan: " + create + " to create, " + change + " to change, " + remove + " to remove; entries +"
                + added + " ~" + changed + " -" + removed + ".";
    }
}
