package dev.bpfgit.diff;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.kernel.Bytes;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The order of one map's writes when the traffic-safe order (every add, then every removal) would hold
 * more entries than the map's {@code max_entries} at once: a map at its capacity could then never replace
 * a rule (the kernel refuses the add: ENOSPC for an LPM trie, E2BIG for a hash). Adds keep their order
 * (most specific first); just before the add that finds the map full, removals run, as few as needed:
 * <ul>
 * <li>first those whose early removal no packet can notice: no pending add overlaps them (neither inside
 * nor around them) and no pending removal contains them, so their packets meet the new rules at once, as
 * they would at the end of the traffic-safe order;</li>
 * <li>only when there is none, one removal that trades safety for room (the one with the fewest pending
 * adds overlapping it, least specific first): until those adds are written, its packets meet the rules
 * around it, which may be looser than both the old and the new policy. Its {@code room} says so.</li>
 * </ul>
 * The remaining removals run last, as usual. Pure.
 */
final class RoomOrder {
    static final String TRADES = "TRADES SAFETY FOR ROOM";
    private RoomOrder() {
    }

    /** True when writing {@code puts} before {@code dels} would overflow the map. */
    static boolean overflows(int live, int maxEntries, List<EntryChange> puts) {
        long adds = puts.stream().filter(c -> c.before().isEmpty()).count();
        return live + adds > maxEntries;
    }

    /**
     * @param puts adds and changes, most specific first
     * @param dels removals, least specific first
     * @return the steps, in execution order
     */
    static List<Change> order(Path pin, String map, int live, int maxEntries, List<EntryChange> puts,
                              List<EntryChange> dels, EntryCodec codec) {
        Map<Bytes, Integer> addAt = new HashMap<>();
        for (int i = 0; i < puts.size(); i++) {
            if (puts.get(i).before().isEmpty()) {
                addAt.put(puts.get(i).rawKey(), i);
            }
        }
        Map<Bytes, Integer> delAt = new HashMap<>();
        for (int i = 0; i < dels.size(); i++) {
            delAt.put(dels.get(i).rawKey(), i);
        }
        // overlaps: an add inside a removal (the removal is among the add's containers), or around it
        List<List<Integer>> overlapsOfAdd = new ArrayList<>();
        puts.forEach(p -> overlapsOfAdd.add(new ArrayList<>()));
        List<List<Integer>> addsOfDel = new ArrayList<>();
        int[] pendingAdds = new int[dels.size()];
        int[] pendingContainers = new int[dels.size()];
        List<List<Integer>> containedBy = new ArrayList<>();
        dels.forEach(d -> {
            addsOfDel.add(new ArrayList<>());
            containedBy.add(new ArrayList<>());
        });
        addAt.forEach((key, a) -> {
            for (Bytes c : codec.containers(key)) {
                Integer d = delAt.get(c);
                if (d != null) {
                    overlapsOfAdd.get(a).add(d);
                    addsOfDel.get(d).add(a);
                    pendingAdds[d]++;
                }
            }
        });
        for (int d = 0; d < dels.size(); d++) {
            for (Bytes c : codec.containers(dels.get(d).rawKey())) {
                Integer a = addAt.get(c);
                if (a != null) {
                    overlapsOfAdd.get(a).add(d);
                    addsOfDel.get(d).add(a);
                    pendingAdds[d]++;
                }
                Integer outer = delAt.get(c);
                if (outer != null) {
                    containedBy.get(outer).add(d);
                    pendingContainers[d]++;
                }
            }
        }
        boolean[] deleted = new boolean[dels.size()];
        boolean[] written = new boolean[puts.size()];
        int remainingAdds = addAt.size();
        int size = live;
        List<Change> steps = new ArrayList<>();
        List<EntryChange> batch = new ArrayList<>();
        int batchBefore = size;
        for (int i = 0; i < puts.size(); i++) {
            EntryChange p = puts.get(i);
            boolean add = p.before().isEmpty();
            if (add && size >= maxEntries) {
                if (!batch.isEmpty()) {
                    steps.add(new Change.PutEntries(pin, batchBefore, batch));
                    batch = new ArrayList<>();
                }
                int need = size + remainingAdds - maxEntries;
                List<EntryChange> early = new ArrayList<>();
                for (int d = 0; d < dels.size() && early.size() < need; d++) {
                    if (!deleted[d] && pendingAdds[d] == 0 && pendingContainers[d] == 0) {
                        early.add(remove(d, dels, deleted, containedBy, pendingContainers));
                    }
                }
                String room;
                if (!early.isEmpty()) {
                    room = "removed before the adds to make room: " + map + " is full (" + size + " of max_entries "
                            + maxEntries + "); no pending add overlaps these, so their packets meet the new rules"
                            + " at once";
                } else {
                    int pick = -1;
                    for (int d = 0; d < dels.size(); d++) {
                        if (!deleted[d] && (pick < 0 || pendingAdds[d] + pendingContainers[d]
                                < pendingAdds[pick] + pendingContainers[pick])) {
                            pick = d;
                        }
                    }
                    if (pick < 0) {
                        throw new IllegalStateException(map + " cannot hold the new entries: " + (size
                                + remainingAdds) + " for max_entries " + maxEntries + " and nothing left to remove");
                    }
                    List<String> waiting = new ArrayList<>();
                    for (int a : addsOfDel.get(pick)) {
                        if (!written[a]) {
                            waiting.add(puts.get(a).key());
                        }
                    }
                    String key = dels.get(pick).key();
                    early.add(remove(pick, dels, deleted, containedBy, pendingContainers));
                    room = "removed before the adds to make room: " + map + " is full (" + size + " of max_entries "
                            + maxEntries + "); " + TRADES + ": until "
                            + (waiting.isEmpty() ? "the less specific removals around it run"
                            : String.join(", ", waiting.subList(0, Math.min(3, waiting.size())))
                            + (waiting.size() > 3 ? " and " + (waiting.size() - 3) + " more" : "") + " "
                            + (waiting.size() == 1 ? "is" : "are") + " written")
                            + ", packets in " + key + " meet the rules around it, which may be looser than both"
                            + " the old and the new policy";
                }
                steps.add(new Change.DeleteEntries(pin, size, early, room));
                size -= early.size();
                batchBefore = size;
            }
            batch.add(p);
            written[i] = true;
            if (add) {
                size++;
                remainingAdds--;
                for (int d : overlapsOfAdd.get(i)) {
                    pendingAdds[d]--;
                }
            }
        }
        if (!batch.isEmpty()) {
            steps.add(new Change.PutEntries(pin, batchBefore, batch));
        }
        List<EntryChange> rest = new ArrayList<>();
        for (int d = 0; d < dels.size(); d++) {
            if (!deleted[d]) {
                rest.add(dels.get(d));
            }
        }
        if (!rest.isEmpty()) {
            steps.add(new Change.DeleteEntries(pin, size, rest));
        }
        return steps;
    }

    private static EntryChange remove(int d, List<EntryChange> dels, boolean[] deleted,
                                      List<List<Integer>> containedBy, int[] pendingContainers) {
        deleted[d] = true;
        for (int inner : containedBy.get(d)) {
            pendingContainers[inner]--;
        }
        return dels.get(d);
    }
}
