package dev.bpfgit.diff;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.kernel.Bytes;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The order of one map's writes when the traffic-safe order (every add, then every removal) would hold
 * more entries than the map's {@code max_entries} at once: a map at its capacity could then never replace
 * a rule (the kernel refuses the add: ENOSPC for an LPM trie, E2BIG for a hash). Adds keep their order
 * (most specific first); just before the add that finds the map full, removals run, as few as needed:
 * <ul>
 * <li>first those whose early removal no packet can notice: no pending write (add or change) overlaps
 * them (neither inside nor around them) and no pending removal contains them, so their packets meet the
 * new rules at once, as they would at the end of the traffic-safe order;</li>
 * <li>only when there is none, one removal that trades safety for room (the one with the fewest pending
 * writes overlapping it, least specific first): until those are written, its packets meet the rules
 * around it, which may be looser than both the old and the new policy. Its {@code room} says so.</li>
 * </ul>
 * The remaining removals run last, as usual. The caller runs these steps after the unit's other writes
 * (a changed default verdict is in place before any early removal lets packets fall through to it). Pure.
 */
final class RoomOrder {
    static final String TRADES = "TRADES SAFETY FOR ROOM";
    private RoomOrder() {
    }

    /** True when writing {@code puts} before {@code dels} would overflow the map. */
    static boolean overflows(int live, int maxEntries, List<EntryChange> puts) {
        long adds = puts instanceof EntryChanges e ? e.count('+') : puts.stream().filter(c -> c.before().isEmpty()).count();
        return live + adds > maxEntries;
    }

    /**
     * @param puts adds and changes, most specific first
     * @param dels removals, least specific first
     * @return the steps, in execution order
     */
    static List<Change> order(Path pin, String map, int live, int maxEntries, List<EntryChange> puts,
                              List<EntryChange> dels, EntryCodec codec) {
        // every pending write counts, changes too: the traffic-safe order has them all in place before any
        // removal, so a removal is only as safe as that once no write inside or around it is pending
        Map<Bytes, Integer> putAt = new HashMap<>();
        int adds = 0;
        for (int i = 0; i < puts.size(); i++) {
            putAt.put(puts.get(i).rawKey(), i);
            adds += puts.get(i).before().isEmpty() ? 1 : 0;
        }
        Map<Bytes, Integer> delAt = new HashMap<>();
        for (int i = 0; i < dels.size(); i++) {
            delAt.put(dels.get(i).rawKey(), i);
        }
        // overlaps: a write inside a removal (the removal is among the write's containers), or around it
        List<List<Integer>> overlapsOfPut = new ArrayList<>();
        puts.forEach(p -> overlapsOfPut.add(new ArrayList<>()));
        List<List<Integer>> putsOfDel = new ArrayList<>();
        int[] pendingPuts = new int[dels.size()];
        int[] pendingContainers = new int[dels.size()];
        List<List<Integer>> containedBy = new ArrayList<>();
        dels.forEach(d -> {
            putsOfDel.add(new ArrayList<>());
            containedBy.add(new ArrayList<>());
        });
        // containers are looked up only at the specificities present on the other side
        BitSet putLengths = new BitSet();
        BitSet delLengths = new BitSet();
        puts.forEach(p -> putLengths.set(codec.specificity(p.rawKey())));
        dels.forEach(d -> delLengths.set(codec.specificity(d.rawKey())));
        putAt.forEach((key, a) -> {
            for (Bytes c : codec.containers(key, delLengths::get)) {
                Integer d = delAt.get(c);
                if (d != null) {
                    overlapsOfPut.get(a).add(d);
                    putsOfDel.get(d).add(a);
                    pendingPuts[d]++;
                }
            }
        });
        for (int d = 0; d < dels.size(); d++) {
            for (Bytes c : codec.containers(dels.get(d).rawKey(), l -> putLengths.get(l) || delLengths.get(l))) {
                Integer a = putAt.get(c);
                if (a != null) {
                    overlapsOfPut.get(a).add(d);
                    putsOfDel.get(d).add(a);
                    pendingPuts[d]++;
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
        int remainingAdds = adds;
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
                    if (!deleted[d] && pendingPuts[d] == 0 && pendingContainers[d] == 0) {
                        early.add(remove(d, dels, deleted, containedBy, pendingContainers));
                    }
                }
                String room;
                if (!early.isEmpty()) {
                    room = "removed before the adds to make room: " + map + " is full (" + size + " of max_entries "
                            + maxEntries + "); no pending write overlaps these, so their packets meet the new rules"
                            + " at once";
                } else {
                    int pick = -1;
                    for (int d = 0; d < dels.size(); d++) {
                        if (!deleted[d] && (pick < 0 || pendingPuts[d] + pendingContainers[d]
                                < pendingPuts[pick] + pendingContainers[pick])) {
                            pick = d;
                        }
                    }
                    if (pick < 0) {
                        throw new IllegalStateException(map + " cannot hold the new entries: " + (size
                                + remainingAdds) + " for max_entries " + maxEntries + " and nothing left to remove");
                    }
                    List<String> waiting = new ArrayList<>();
                    for (int a : putsOfDel.get(pick)) {
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
            for (int d : overlapsOfPut.get(i)) {
                pendingPuts[d]--;
            }
            if (add) {
                size++;
                remainingAdds--;
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
