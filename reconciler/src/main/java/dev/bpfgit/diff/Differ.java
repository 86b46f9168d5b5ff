package dev.bpfgit.diff;

import dev.bpfgit.compile.DesiredState;
import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.LinkDesire;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.compile.PolicyIds;
import dev.bpfgit.compile.ProgramDesire;
import dev.bpfgit.compile.Slots;
import dev.bpfgit.compile.Unit;
import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kind.Kinds;
import dev.bpfgit.kind.PolicyKind;
import dev.bpfgit.kernel.AttachedProgram;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.IndexRun;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.PinType;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.kernel.ProgramSpec;
import dev.bpfgit.observe.Fingerprint;
import dev.bpfgit.observe.LiveLink;
import dev.bpfgit.observe.LiveMap;
import dev.bpfgit.observe.LiveProgram;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.observe.Meta;
import dev.bpfgit.policy.Policy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * Diff: desired state × live state → plan. Pure. Per unit, the steps run in a traffic-safe order:
 * create maps, write adds and changes (most specific first), load programs, create or atomically update
 * links, swap in replaced maps, then remove entries (least specific first). A map that would overflow
 * its max_entries in that order gets some removals just before the adds that need their room
 * ({@link RoomOrder}). Everything live under the
 * root that the desired state does not name is removed last, links before programs before maps.
 */
public final class Differ {
    // bpffs refuses dots in names (EPERM), so the staging suffix uses an underscore
    static final String STAGING = "_next";

    private Differ() {
    }

    public static Plan diff(DesiredState desired, LiveState live) {
        return diff(Kinds.BUILT_IN, desired, live);
    }

    private static boolean runtimeOfDesired(String key, Set<String> desiredRels) {
        if (!key.startsWith(Meta.RUNTIME)) {
            return false;
        }
        String rest = key.substring(Meta.RUNTIME.length());
        int slash = rest.lastIndexOf('/');
        return slash > 0 && desiredRels.contains(rest.substring(0, slash));
    }

    /** @throws ForeignProgramException naming every unit a foreign program refuses, when one does */
    public static Plan diff(Kinds kinds, DesiredState desired, LiveState live) {
        Around a = diffAround(kinds, desired, live);
        if (a.refused().size() == 1) {
            throw a.refused().getFirst();
        }
        if (!a.refused().isEmpty()) {
            // all of them at once: an operator clears every one before the next try
            List<String> policies = a.refused().stream().flatMap(r -> r.policies().stream()).distinct().sorted().toList();
            throw new ForeignProgramException(String.join("\n", a.refused().stream().map(Throwable::getMessage)
                    .toList()), policies);
        }
        return a.plan();
    }

    /**
     * A plan that leaves out the units a foreign program refuses, for the sidecar: each such unit keeps what
     * it has (its pins and their bookkeeping, the last good state), its policies are recorded as failed with
     * the reason, and every other unit is planned as usual. {@link #diff} refuses the whole plan instead.
     */
    public static Around diffAround(Kinds kinds, DesiredState desired, LiveState live) {
        List<ForeignProgramException> refused = new ArrayList<>();
        return diff(kinds, desired, live, refused);
    }

    /** @param refused one per unit left out, naming its policies; empty when none was */
    public record Around(Plan plan, List<ForeignProgramException> refused) {
        public Around {
            refused = List.copyOf(refused);
        }
    }

    /** @param refused where refusals are collected */
    private static Around diff(Kinds kinds, DesiredState desired, LiveState live,
                               List<ForeignProgramException> refused) {
        Path root = desired.root();
        Owners owners = new Owners(desired.policies(), live.meta());
        List<UnitPlan> units = new ArrayList<>();
        List<String> warnings = new ArrayList<>();
        Set<Path> wanted = new HashSet<>();
        wanted.add(Meta.pin(root));
        Map<String, String> meta = new TreeMap<>();
        meta.put("revision", desired.revision());
        desired.commit().ifPresent(c -> {
            meta.put(Meta.COMMIT_SUBJECT, Meta.fit(c.subject()));
            meta.put(Meta.COMMIT_AUTHOR_TIME, c.authorTime().toString());
            c.signer().ifPresent(s -> meta.put(Meta.COMMIT_SIGNER, Meta.fit(s)));
        });
        for (Policy p : desired.policies()) {
            meta.put(Meta.policyKey(p.id()), p.digest());
        }
        Map<String, Policy> byId = new HashMap<>();
        desired.policies().forEach(p -> byId.put(p.id(), p));
        Set<String> failed = new HashSet<>();
        for (Unit u : desired.units()) {
            List<Policy> acting = new ArrayList<>(u.policies().size());
            for (String pid : u.policies()) {
                Policy p = byId.get(pid);
                if (p != null) {
                    acting.add(p);
                }
            }
            UnitDiff d = new UnitDiff(u, kinds.named(u.kind()), live, owners, desired.revision(), warnings, acting);
            String rel = root.relativize(u.dir()).toString();
            UnitPlan up;
            try {
                up = d.plan();
            } catch (ForeignProgramException e) {
                refused.add(e);
                keep(u.dir(), rel, live, wanted, meta);
                failed.addAll(u.policies());
                for (String pid : u.policies()) {
                    meta.put(Meta.FAILED + pid, Meta.fit(e.getMessage()));
                }
                continue;
            }
            units.add(up);
            wanted.addAll(d.wanted);
            meta.put(Meta.unitKey(rel), d.fingerprint.toRecord(live.meta().get(Meta.unitKey(rel))));
            for (String pid : u.policies()) {
                meta.put(Meta.ownerKey(rel, pid), "");
            }
            for (ProgramDesire p : u.programs()) {
                meta.put(Meta.programKey(root.relativize(p.pin()).toString()), p.spec().identity());
            }
        }
        // a policy of a unit left out is not applied at its new digest: it keeps what was recorded
        for (String pid : failed) {
            live.meta().get(Meta.policyKey(pid)).ifPresentOrElse(v -> meta.put(Meta.policyKey(pid), v),
                    () -> meta.remove(Meta.policyKey(pid)));
        }
        units.addAll(removals(kinds, live, wanted));
        // stale keys, and the failures recorded by earlier applies: a successful apply clears them; the
        // sidecar's view of its source (sidecar/...) is not the plan's to remove, nor a kind's runtime state
        // (runtime/<unit>/...) of a unit still desired
        Set<String> desiredRels = new HashSet<>();
        desired.units().forEach(u -> desiredRels.add(root.relativize(u.dir()).toString()));
        List<String> metaDeletes = new ArrayList<>();
        for (String k : live.meta().values().keySet()) {
            if (k.startsWith(Meta.FAILED) && !meta.containsKey(k) || !meta.containsKey(k)
                    && !k.equals("applied") && !k.startsWith(Meta.SIDECAR) && !runtimeOfDesired(k, desiredRels)) {
                metaDeletes.add(k);
            }
        }
        return new Around(new Plan(root, desired.revision(), live.basisDigest(), units, meta, metaDeletes, warnings),
                refused);
    }

    /** A unit left out keeps every pin it has and the bookkeeping of the unit and its programs. */
    private static void keep(Path dir, String rel, LiveState live, Set<Path> wanted, Map<String, String> meta) {
        live.links().keySet().stream().filter(p -> p.startsWith(dir)).forEach(wanted::add);
        live.programs().keySet().stream().filter(p -> p.startsWith(dir)).forEach(wanted::add);
        live.maps().keySet().stream().filter(p -> p.startsWith(dir)).forEach(wanted::add);
        String unitKey = Meta.unitKey(rel);
        String programs = Meta.programKey(rel + "/");
        String owners = Meta.ownerKey(rel, "");
        live.meta().values().forEach((k, v) -> {
            if (k.equals(unitKey) || k.startsWith(programs) || k.startsWith(owners)) {
                meta.put(k, v);
            }
        });
    }

    /** The plan that removes everything bpfgit owns under the root, the root included. */
    public static Plan destroy(LiveState live) {
        return destroy(Kinds.BUILT_IN, live);
    }

    public static Plan destroy(Kinds kinds, LiveState live) {
        List<UnitPlan> units = new ArrayList<>(removals(kinds, live, Set.of()));
        return new Plan(live.root(), live.meta().revision().orElse(""), live.basisDigest(), units, Map.of(),
                List.of(), List.of());
    }

    /**
     * The policy of each 32-bit owner id in map values, made on first use: only a change shown as text names its
     * owner, and each id is a SHA-256 of a policy's name, desired and recorded, which the warm reconcile (plan,
     * apply, no text) computed on every diff and never used: 5% of the diff's samples at 10k (JFR).
     */
    private static final class Owners {
        private final List<Policy> policies;
        private final Meta meta;
        private Map<Integer, String> byId;

        Owners(List<Policy> policies, Meta meta) {
            this.policies = policies;
            this.meta = meta;
        }

        String name(int owner) {
            if (owner == 0) {
                return "";
            }
            if (byId == null) {
                Map<Integer, String> m = new HashMap<>();
                meta.policies().keySet().forEach(id -> m.put(PolicyIds.of(id), id));
                policies.forEach(p -> m.put(PolicyIds.of(p.id()), p.id()));
                byId = m;
            }
            String id = byId.get(owner);
            return id != null ? id : String.format("policy %08x", owner);
        }
    }

    /** The live objects whose pin nobody wants, in the pins' string order. */
    private static <T> List<T> unwanted(Collection<T> live, Function<T, Path> pin, Set<Path> wanted) {
        List<T> out = new ArrayList<>();
        for (T t : live) {
            if (!wanted.contains(pin.apply(t))) {
                out.add(t);
            }
        }
        if (out.size() > 1) {   // mostly none: a plan that removes nothing makes no comparator
            out.sort(Comparator.comparing(t -> pin.apply(t).toString()));
        }
        return out;
    }

    /** Live pins nobody wants, grouped by directory; then directories left empty. */
    private static List<UnitPlan> removals(Kinds kinds, LiveState live, Set<Path> wanted) {
        Path root = live.root();
        Map<Path, List<Change>> byDir = new TreeMap<>();
        // loops, not streams: a plan runs this once, mostly finding nothing to remove, in code the JIT has not
        // compiled yet at a sidecar's few plans an hour (interpreted streams were a tenth of a warm diff's samples)
        for (LiveLink l : unwanted(live.links().values(), LiveLink::pin, wanted)) {
            byDir.computeIfAbsent(l.pin().getParent(), k -> new ArrayList<>())
                    .add(new Change.Unpin(l.pin(), Optional.of(PinType.LINK), "link " + describe(l)));
        }
        for (LiveProgram p : unwanted(live.programs().values(), LiveProgram::pin, wanted)) {
            byDir.computeIfAbsent(p.pin().getParent(), k -> new ArrayList<>())
                    .add(new Change.Unpin(p.pin(), Optional.of(PinType.PROG),
                            "program " + p.info().name() + " (id " + p.info().id() + ")"));
        }
        for (LiveMap m : unwanted(live.maps().values(), LiveMap::pin, wanted)) {
            byDir.computeIfAbsent(m.pin().getParent(), k -> new ArrayList<>())
                    .add(new Change.Unpin(m.pin(), Optional.of(PinType.MAP), "map " + m.pin().getFileName()
                            + m.entries().map(e -> " (" + e.size() + " entries)").orElse("")));
        }
        Set<Path> keepDirs = new HashSet<>();
        for (Path p : wanted) {
            for (Path d = p.getParent(); d != null && d.startsWith(root); d = d.getParent()) {
                if (!keepDirs.add(d)) {
                    break;   // its parents are in already
                }
            }
        }
        List<Path> emptyDirs = new ArrayList<>();
        for (Path d : live.dirs()) {
            if (!keepDirs.contains(d)) {
                emptyDirs.add(d);
            }
        }
        if (emptyDirs.size() > 1) {
            emptyDirs.sort(Comparator.comparingInt(Path::getNameCount).reversed()
                    .thenComparing(Comparator.comparing(Path::toString)));
        }
        List<UnitPlan> plans = new ArrayList<>();
        if (byDir.isEmpty() && emptyDirs.isEmpty()) {
            return plans;   // the warm path: nothing to remove
        }
        // the pin root's own objects (the bookkeeping map) go last: an interrupted destroy still knows
        Map<Path, List<Change>> rootLast = new LinkedHashMap<>(byDir);
        List<Change> atRoot = rootLast.remove(root);
        if (atRoot != null) {
            rootLast.put(root, atRoot);
        }
        rootLast.forEach((dir, changes) -> {
            String rel = root.relativize(dir).toString();
            List<String> pols = live.meta().values().keySet().stream()
                    .filter(k -> k.startsWith(Meta.ownerKey(rel, "")))
                    .map(k -> k.substring(Meta.ownerKey(rel, "").length())).sorted().toList();
            plans.add(new UnitPlan(dir, kindOf(kinds, rel), rel.isEmpty() ? "pin root" : rel, pols, changes));
        });
        if (!emptyDirs.isEmpty()) {
            List<Change> dirs = emptyDirs.stream().map(d -> (Change) new Change.Unpin(d, Optional.empty(),
                    "directory " + (d.equals(root) ? d.toString() : root.relativize(d).toString()))).toList();
            if (plans.isEmpty()) {
                plans.add(new UnitPlan(root, "", "(directories)", List.of(), dirs));
            } else {
                UnitPlan last = plans.removeLast();
                List<Change> all = new ArrayList<>(last.changes());
                all.addAll(dirs);
                plans.add(new UnitPlan(last.dir(), last.kind(), last.label(), last.policies(), all));
            }
        }
        return plans;
    }

    private static String describe(LiveLink l) {
        String type = switch (l.info().type()) {
            case dev.bpfgit.kernel.LinkInfo.TYPE_XDP -> "xdp";
            case dev.bpfgit.kernel.LinkInfo.TYPE_TCX -> l.info().attachType() == 46 ? "tcx-ingress" : "tcx-egress";
            case dev.bpfgit.kernel.LinkInfo.TYPE_LEGACY_TC -> "legacy tc filter "
                    + (l.info().attachType() == 46 ? "ingress" : "egress");
            default -> "type " + l.info().type();
        };
        return l.pin().getFileName() + " (" + type + (l.info().defunct() ? ", device gone"
                : " on ifindex " + l.info().ifindex()) + ")";
    }

    /** The kind whose directory a unit found in the kernel is in, "" for none (the root's own files). */
    private static String kindOf(Kinds kinds, String rel) {
        return kinds.owning(Path.of(rel)).map(PolicyKind::name).orElse("");
    }

    /** The diff of one desired unit against the kernel. */
    private static final class UnitDiff {
        final Unit unit;
        final LiveState live;
        final Owners owners;
        final String revision;
        final List<String> warnings;
        final Set<Path> wanted = new HashSet<>();
        final Fingerprint fingerprint = new Fingerprint();
        final List<Change> first = new ArrayList<>();
        final List<Change> creates = new ArrayList<>();
        final List<Change> puts = new ArrayList<>();
        final List<Change> roomPuts = new ArrayList<>();
        final List<Change> loads = new ArrayList<>();
        final List<Change> links = new ArrayList<>();
        final List<Change> renames = new ArrayList<>();
        // a table of a million entries has a handful of distinct values as people read them ("mark 0x3"): one
        // String each, not one per entry change (tens of MB at the first plan of the geo-routing table)
        final Map<String, String> texts = new HashMap<>();
        final List<Change> deletes = new ArrayList<>();
        final Map<Path, Path> staged = new HashMap<>();
        final Map<Path, Integer> held = new HashMap<>();

        final PolicyKind kind;

        final List<Policy> acting;

        UnitDiff(Unit unit, PolicyKind kind, LiveState live, Owners owners, String revision,
                 List<String> warnings, List<Policy> acting) {
            this.acting = acting;
            this.unit = unit;
            this.kind = kind;
            this.live = live;
            this.owners = owners;
            this.revision = revision;
            this.warnings = warnings;
        }

        UnitPlan plan() {
            maps();
            Set<Path> reloaded = programs();
            links(reloaded);
            List<Change> all = new ArrayList<>(first);
            all.addAll(creates);
            all.addAll(puts);
            all.addAll(roomPuts);
            all.addAll(loads);
            all.addAll(links);
            all.addAll(renames);
            all.addAll(deletes);
            return new UnitPlan(unit.dir(), unit.kind(), unit.label(), unit.policies(), all, held);
        }

        private void maps() {
            // by identity: a MapDesire's record hashCode hashes all its entries
            Map<MapDesire, Map<Bytes, Bytes>> liveEntries = new IdentityHashMap<>();
            Map<MapDesire, Map<Bytes, Bytes>> keptLive = new IdentityHashMap<>();
            for (MapDesire m : unit.maps()) {
                wanted.add(m.pin());
                LiveMap lm = live.maps().get(m.pin());
                Map<Bytes, Bytes> have = lm == null ? Map.of() : lm.entries().orElse(Map.of());
                if (lm == null) {
                    creates.add(new Change.CreateMap(m.pin(), m.spec()));
                    have = Map.of();
                } else {
                    if (m.entries().isPresent()) {
                        held.put(m.pin(), have.size());
                    }
                    List<String> why = m.spec().incompatibilities(lm.info());
                    if (!why.isEmpty()) {
                        Path staging = m.pin().resolveSibling(m.name() + STAGING);
                        if (live.maps().containsKey(staging)) {
                            first.add(new Change.Unpin(staging, Optional.of(PinType.MAP),
                                    "map " + staging.getFileName() + " left by an interrupted apply"));
                        }
                        creates.add(new Change.ReplaceMap(m.pin(), staging, m.spec(), why));
                        renames.add(new Change.Rename(staging, m.pin()));
                        staged.put(m.pin(), staging);
                        keptLive.put(m, have);   // slots of staying entries survive the swap
                        held.remove(m.pin());
                        have = Map.of();
                    }
                }
                liveEntries.put(m, have);
            }
            Map<MapDesire, Map<Bytes, Bytes>> desired = new IdentityHashMap<>();
            Map<MapDesire, Slotting.Assigned> merges = withSlots(liveEntries, keptLive, desired);
            for (MapDesire m : unit.maps()) {
                if (m.entries().isEmpty()) {
                    continue;
                }
                Path target = staged.getOrDefault(m.pin(), m.pin());
                entries(m, target, desired.get(m), liveEntries.get(m), merges.get(m));
                fingerprint.map(m.name(), desired.get(m));
            }
        }

        /**
         * Puts into {@code out} the desired entries with counter slots filled from the live ones; returns the merge
         * of each map whose slots were assigned against the same live entries its entry diff compares with.
         */
        private Map<MapDesire, Slotting.Assigned> withSlots(Map<MapDesire, Map<Bytes, Bytes>> liveEntries,
                                                            Map<MapDesire, Map<Bytes, Bytes>> keptLive,
                                                            Map<MapDesire, Map<Bytes, Bytes>> out) {
            Map<MapDesire, Slotting.Assigned> merges = new IdentityHashMap<>();
            Map<String, List<MapDesire>> spaces = new LinkedHashMap<>();
            for (MapDesire m : unit.maps()) {
                if (m.entries().isEmpty()) {
                    continue;
                }
                if (m.slots().isPresent()) {
                    spaces.computeIfAbsent(m.slots().get().space(), k -> new ArrayList<>()).add(m);
                } else {
                    out.put(m, m.entries().get());
                }
            }
            spaces.forEach((space, maps) -> {
                Slots slots = maps.getFirst().slots().get();
                List<Map<Bytes, Bytes>> lives = new ArrayList<>(maps.size());
                for (MapDesire m : maps) {
                    lives.add(keptLive.getOrDefault(m, liveEntries.get(m)));
                }
                List<Slotting.Assigned> assigned = Slotting.assign(slots, maps, lives, revision);
                for (int i = 0; i < maps.size(); i++) {
                    MapDesire m = maps.get(i);
                    out.put(m, assigned.get(i).entries());
                    if (!keptLive.containsKey(m)) {   // a replaced map's entries are diffed against none
                        merges.put(m, assigned.get(i));
                    }
                }
            });
            return merges;
        }

        /** @param merge the merge of slot assignment against the same live entries, or null */
        private void entries(MapDesire m, Path target, Map<Bytes, Bytes> wanted, Map<Bytes, Bytes> live,
                             Slotting.Assigned merge) {
            EntryCodec codec = m.codec();
            // one merge of the two sorted runs (see SortedEntries); objects only for the entries that change.
            // Slot assignment changed values only, so its merge of the same keys is this one.
            SortedEntries want = SortedEntries.copyOf(wanted);
            SortedEntries have = merge != null ? merge.have() : SortedEntries.copyOf(live);
            int[] at = merge != null ? merge.at() : want.indexIn(have);
            boolean array = m.spec().type() == MapType.ARRAY;
            List<EntryChange> put;
            List<EntryChange> del;
            if (array) {
                put = new ArrayList<>();
                del = new ArrayList<>();
                arrayChanges(codec, want, have, at, put);
            } else {
                // two ints per change, not an object: a new map of a million entries changes every one. Slot
                // assignment's merge found them already (Slotting.Merge) when it could, else a scan finds them
                boolean merged = merge != null && merge.changes() != null;
                put = puts(codec, want, have, at, merged ? merge.changes().puts().clone() : changed(want, have, at));
                del = removals(codec, want, have, merged ? merge.changes().removals().clone() : gone(have, at));
            }
            if (!array && !del.isEmpty() && RoomOrder.overflows(have.size(), m.spec().maxEntries(), put)) {
                // a full map: some removals must run before the adds that need their room
                List<Change> steps = RoomOrder.order(target, m.name(), have.size(), m.spec().maxEntries(), put,
                        del, codec);
                long trades = 0;
                for (Change c : steps) {
                    (c instanceof Change.DeleteEntries d && !d.early() ? deletes : roomPuts).add(c);
                    if (c instanceof Change.DeleteEntries d && d.room().contains(RoomOrder.TRADES)) {
                        trades += d.changes().size();
                    }
                }
                if (trades > 0) {
                    warnings.add(String.join(", ", unit.policies()) + " (" + unit.label() + "): " + m.name()
                            + " is full (max_entries " + m.spec().maxEntries() + "): " + trades
                            + (trades == 1 ? " removal runs" : " removals run") + " before writes that overlap it,"
                            + " trading safety for room (the ! notes above say which); a capacity with headroom"
                            + " keeps every step traffic-safe");
                }
                return;
            }
            if (!put.isEmpty()) {
                puts.add(new Change.PutEntries(target, have.size(), put));
            }
            if (!del.isEmpty()) {
                deletes.add(new Change.DeleteEntries(target, have.size(), del));
            }
        }

        /**
         * The desired entries whose key is new or whose value differs, in key order: the entry diff's scan when slot
         * assignment's merge did not find them ({@link Slotting.Changes}).
         */
        private static int[] changed(SortedEntries want, SortedEntries have, int[] at) {
            // one pass over the entries; most stay, so the array is trimmed to the changes found
            IndexRun changed = new IndexRun(want.size());
            for (int w = 0; w < want.size(); w++) {
                if (at[w] < 0 || !want.sameValue(w, have, at[w])) {
                    changed.add(w);
                }
            }
            return changed.toArray();
        }

        /** The live entries whose key is not desired, in key order: the scan when the merge did not find them. */
        private static int[] gone(SortedEntries have, int[] at) {
            boolean[] stays = new boolean[have.size()];
            int n = have.size();
            for (int j : at) {
                if (j >= 0) {
                    stays[j] = true;
                    n--;
                }
            }
            int[] gone = new int[n];
            int k = 0;
            for (int j = 0; j < have.size(); j++) {
                if (!stays[j]) {
                    gone[k++] = j;
                }
            }
            return gone;
        }

        /**
         * Adds and changes of a map that is not an array, of the desired entries {@code changed} (sorted in place: the
         * caller's), most specific first.
         */
        private EntryChanges puts(EntryCodec codec, SortedEntries want, SortedEntries have, int[] at, int[] changed) {
            int[] wanted = changed;
            int[] had = new int[wanted.length];
            for (int i = 0; i < wanted.length; i++) {
                had[i] = at[wanted[i]];
            }
            EntryChanges.bySpecificity(want, have, wanted, had, codec, true);
            return EntryChanges.of(want, have, wanted, had, codec, this::ownerName);
        }

        /** Removals of a map that is not an array, of the live entries {@code gone} (the caller's), least specific first. */
        private EntryChanges removals(EntryCodec codec, SortedEntries want, SortedEntries have, int[] gone) {
            int[] had = gone;
            int[] wanted = new int[had.length];
            Arrays.fill(wanted, -1);
            EntryChanges.bySpecificity(want, have, wanted, had, codec, false);
            return EntryChanges.of(want, have, wanted, had, codec, this::ownerName);
        }

        /** Adds and changes of an array map; its slots cannot be deleted, so those not wanted are zeroed. */
        private void arrayChanges(EntryCodec codec, SortedEntries want, SortedEntries have, int[] at,
                                  List<EntryChange> put) {
            boolean[] stays = new boolean[have.size()];
            for (int w = 0; w < want.size(); w++) {
                int j = at[w];
                if (j < 0) {
                    put.add(change(codec, want.key(w), null, want.value(w)));
                } else {
                    stays[j] = true;
                    if (!want.sameValue(w, have, j)) {
                        put.add(change(codec, want.key(w), have.value(j), want.value(w)));
                    }
                }
            }
            for (int j = 0; j < have.size(); j++) {
                Bytes value = have.value(j);
                Bytes zero = Bytes.wrap(new byte[value.size()]);
                if (!stays[j] && !value.equals(zero)) {
                    put.add(change(codec, have.key(j), value, zero));
                }
            }
            bySpecificity(put, codec, true);
        }

        /** Sorts most (or least) specific first, then by key; each key's specificity is computed once. */
        private static void bySpecificity(List<EntryChange> changes, EntryCodec codec, boolean mostFirst) {
            record Ranked(int rank, EntryChange change) {
            }
            List<Ranked> ranked = new ArrayList<>(changes.size());
            for (EntryChange c : changes) {
                int s = codec.specificity(c.rawKey());
                ranked.add(new Ranked(mostFirst ? -s : s, c));
            }
            ranked.sort(Comparator.comparingInt(Ranked::rank).thenComparing(r -> r.change().rawKey()));
            changes.clear();
            ranked.forEach(r -> changes.add(r.change()));
        }

        private EntryChange change(EntryCodec codec, Bytes key, Bytes before, Bytes after) {
            Bytes shown = after != null ? after : before;
            String text = codec.value(shown);
            if (before != null && after != null) {
                text = EntryChange.changed(text, codec.value(before));
            }
            return new EntryChange(key, Optional.ofNullable(before), Optional.ofNullable(after),
                    ownerName(codec.owner(shown)), codec.key(key), texts.computeIfAbsent(text, t -> t));
        }

        private String ownerName(int owner) {
            return owners.name(owner);
        }

        /** @return pins of programs (re)loaded by this plan */
        private Set<Path> programs() {
            Set<Path> reloaded = new HashSet<>();
            for (ProgramDesire p : unit.programs()) {
                wanted.add(p.pin());
                boolean mapsSwapped = false;
                if (!staged.isEmpty()) {
                    for (Path pin : p.spec().maps().values()) {
                        mapsSwapped |= staged.containsKey(pin);
                    }
                }
                // the compiled spec as it is when none of its maps is staged (the warm path): no copy per diff
                ProgramSpec spec = p.spec();
                if (mapsSwapped) {
                    Map<String, Path> maps = new TreeMap<>();
                    p.spec().maps().forEach((name, pin) -> maps.put(name, staged.getOrDefault(pin, pin)));
                    spec = new ProgramSpec(p.spec().object(), p.spec().program(), maps);
                }
                String identity = spec.identity();
                LiveProgram lp = live.programs().get(p.pin());
                String reason = null;
                if (lp == null) {
                    loads.add(new Change.LoadProgram(p.pin(), spec, false, "new"));
                    reloaded.add(p.pin());
                } else if (mapsSwapped) {
                    reason = "maps replaced";
                } else if (lp.identity().isEmpty()) {
                    reason = "origin unknown (no record of loading it)";
                } else if (!lp.identity().get().equals(identity)) {
                    reason = "object changed (" + shortId(lp.identity().get()) + " -> " + shortId(identity) + ")";
                }
                if (reason != null) {
                    loads.add(new Change.LoadProgram(p.pin(), spec, true, reason));
                    reloaded.add(p.pin());
                }
                fingerprint.program(p.pin().getFileName().toString(), identity);
            }
            return reloaded;
        }

        private static String shortId(String identity) {
            int colon = identity.indexOf(':');
            return identity.substring(0, Math.min(12, colon < 0 ? identity.length() : colon));
        }

        private void links(Set<Path> reloaded) {
            for (LinkDesire l : unit.links()) {
                wanted.add(l.pin());
                fingerprint.link(l.pin().getFileName().toString(), true);
                LiveLink ll = live.links().get(l.pin());
                LiveProgram lp = live.programs().get(l.program());
                Integer wantIfindex = live.interfaces().get(ifname(l.at()));
                boolean sameTarget = wantIfindex != null && ll != null && ll.info().ifindex() == wantIfindex;
                if (l.at() instanceof AttachPoint.Cgroup c) {
                    // a cgroup link holds the low half of the cgroup's id; unknown cgroups (no kernel): keep it
                    Long id = live.cgroups().get(c.path());
                    sameTarget = ll != null && (id == null || ll.info().ifindex() == id.intValue());
                }
                if (ll != null && !ll.info().defunct() && sameTarget) {
                    // attached already: a foreign program that came later is refused as one that was there first
                    // would be, and coexisting with it needs no word at every plan
                    foreign(l, ll, true);
                    if (reloaded.contains(l.program())) {
                        links.add(new Change.UpdateLink(l.pin(), l.program(), Optional.of(ll.info().progId()),
                                "program reloaded"));
                    } else if (lp == null || ll.info().progId() != lp.info().id()) {
                        links.add(new Change.UpdateLink(l.pin(), l.program(), Optional.of(ll.info().progId()),
                                "drift: link runs program id " + ll.info().progId() + ", not the pinned one"));
                    }
                    continue;
                }
                if (ll != null) {
                    links.add(new Change.Unpin(l.pin(), Optional.of(PinType.LINK), ll.info().defunct()
                            ? "link whose interface is gone" : "link attached to an older " + ifname(l.at())));
                }
                foreign(l, ll, false);
                links.add(new Change.CreateLink(l.pin(), l.program(), l.at()));
            }
        }

        /**
         * Programs at the link's attach point that bpfgit did not attach: the kind says whether that refuses the
         * unit ({@link ForeignProgramException}) or is a warning. bpfgit's own are every program pinned under
         * this root (a reloaded one's predecessor included, until its link moves) and the one its link runs, so
         * a restart or an upgrade finds its own programs its own; another root's are another owner's.
         */
        private void foreign(LinkDesire l, LiveLink ll, boolean attached) {
            List<AttachedProgram> at = live.attached().getOrDefault(l.at(), List.of());
            if (at.isEmpty()) {
                return;
            }
            if (ll != null && runsOnly(at, ll.info().progId())) {
                return;   // the warm path: only the program of bpfgit's own link is attached; no set of ids
            }
            Set<Integer> ours = new HashSet<>();
            for (LiveProgram p : live.programs().values()) {
                ours.add(p.info().id());
            }
            if (ll != null) {
                ours.add(ll.info().progId());
            }
            // id 0: a legacy tc filter that is no BPF program (u32, flower, matchall...), never bpfgit's
            List<AttachedProgram> others = new ArrayList<>();
            for (AttachedProgram a : at) {
                if (a.progId() == 0 || !ours.contains(a.progId())) {
                    others.add(a);
                }
            }
            if (others.isEmpty()) {
                return;   // the warm path: only bpfgit's own program is attached
            }
            PolicyKind.Foreign foreign = kind.foreign(l.at(), acting);
            List<AttachedProgram> programs = others.stream().filter(a -> a.progId() != 0).toList();
            if (foreign.refuse() && !programs.isEmpty()) {
                throw new ForeignProgramException(message(l, programs) + ": " + foreign.advice(), unit.policies());
            }
            if (attached) {
                return;
            }
            // a classifier that is no program is never refused: it is the operator's tc setup, and bpfgit's
            // filter (or tcx program) is not the one that has to make room for it
            warnings.add(message(l, others) + ": " + (foreign.refuse()
                    ? "it is no BPF program, so bpfgit leaves it be; one with a lower pref that returns a verdict"
                    + " decides before bpfgit's." : foreign.advice()));
        }

        /** Whether every program attached is the program {@code progId} (a BPF program: id 0 is none). */
        private static boolean runsOnly(List<AttachedProgram> at, int progId) {
            for (AttachedProgram a : at) {
                if (a.progId() == 0 || a.progId() != progId) {
                    return false;
                }
            }
            return true;
        }

        private String message(LinkDesire l, List<AttachedProgram> others) {
            String who = others.stream().map(a -> a.progId() == 0 ? a.name()
                            : "program id " + a.progId() + " \"" + a.name() + "\"")
                    .reduce((a, b) -> a + ", " + b).orElseThrow();
            return l.at().label() + ": " + who + " is attached and was not attached by bpfgit; for "
                    + String.join(", ", unit.policies());
        }

        private static String ifname(AttachPoint at) {
            return at instanceof AttachPoint.Cgroup c ? "cgroup " + c.path() : at.ifname();
        }
    }
}
