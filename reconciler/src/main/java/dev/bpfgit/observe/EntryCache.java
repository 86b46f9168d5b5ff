package dev.bpfgit.observe;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.MapInfo;
import dev.bpfgit.kernel.MapWriteCounter;
import dev.bpfgit.kernel.SortedEntries;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The contents of the maps read by the last observation, kept for the next one (the sidecar's drift ticks)
 * and trusted only while the kernel's {@link MapWriteCounter} shows no write to the map since it was read.
 *
 * <p>Why that is enough: a map's count is read before its contents, and the kernel counts a write after it is
 * in the map. A write missing from the kept contents therefore always shows as a changed count. The same pin
 * holding another map (another id) is read anew. What the counter cannot see, writes from BPF programs, does
 * not happen to the maps observe reads: bpfgit's programs write only their statistics maps, which are never
 * read for entries; {@link #forget} (the sidecar's periodic full verification) covers a foreign program.
 *
 * <p>This process's own writes ({@link #recording}) are folded into the kept contents, with the count they
 * add: after an apply or a status record the next observation still reads nothing, and a foreign write on
 * top of ours still shows as a count that does not match.
 *
 * <p>Not thread-safe: one observer at a time (the sidecar's loop, which also makes the writes). The one exception
 * is {@link #unchanged} (through {@link #readingKept}), which any thread may call: a /metrics scrape takes the
 * rule maps from here instead of dumping them.
 */
public final class EntryCache {
    /**
     * A map's kept contents: what was read, and the writes of ours since, not merged into them yet (newest first)
     * until someone asks for the contents ({@link #entries}: one pass over the packed arrays, however many write
     * calls an apply made). {@code writes} is the count the contents with every pending write match. Immutable
     * but for that one-time merge, made under the record's lock (the loop and a scrape may ask at once).
     */
    private static final class Kept {
        final int id;
        final long writes;
        final long unresolved;            // the counter's unattributed writes when the contents were read
        private SortedEntries contents;   // guarded by this
        private Pending pending;          // guarded by this; null: nothing to merge

        Kept(int id, long writes, long unresolved, SortedEntries contents, Pending pending) {
            this.id = id;
            this.writes = writes;
            this.unresolved = unresolved;
            this.contents = contents;
            this.pending = pending;
        }

        synchronized SortedEntries entries() {
            if (pending != null) {
                contents = pending.foldInto(contents);
                pending = null;
            }
            return contents;
        }

        /** These contents with one more write of ours, {@code counted} elements as the kernel counts them. */
        synchronized Kept plus(long counted, List<Entry> put, List<Bytes> deleted) {
            return new Kept(id, writes + counted, unresolved, contents, new Pending(pending, put, deleted));
        }
    }

    /** One write call of ours not merged yet: entries put or keys deleted, with the ones before it. */
    private record Pending(Pending before, List<Entry> put, List<Bytes> deleted) {
        private static final Bytes GONE = Bytes.of(new byte[0]);   // by identity: a deleted key

        /** {@code base} with every pending write applied in order: the last write of a key wins. */
        SortedEntries foldInto(SortedEntries base) {
            List<Pending> calls = new ArrayList<>();
            for (Pending p = this; p != null; p = p.before) {
                calls.add(p);
            }
            Map<Bytes, Bytes> last = new HashMap<>();
            for (int i = calls.size() - 1; i >= 0; i--) {
                Pending p = calls.get(i);
                p.put.forEach(e -> last.put(e.key(), e.value()));
                p.deleted.forEach(k -> last.put(k, GONE));
            }
            List<Entry> put = new ArrayList<>(last.size());
            List<Entry> gone = new ArrayList<>();
            last.forEach((k, v) -> (v == GONE ? gone : put).add(new Entry(k, v)));
            return base.with(SortedEntries.of(put), SortedEntries.of(gone));
        }
    }

    private final MapWriteCounter counter;
    // written by the loop thread only; a ConcurrentHashMap of immutable records so that another thread (a
    // scrape, readingKept) may look at it
    private final Map<Path, Kept> kept = new java.util.concurrent.ConcurrentHashMap<>();
    private final Set<Path> seen = new HashSet<>();
    private volatile long unresolved;
    private int reused;
    private int read;

    public EntryCache(MapWriteCounter counter) {
        this.counter = counter;
        this.unresolved = counter.unresolved();
    }

    /** Drops every kept content: the next observation reads every map (a full verification). */
    public void forget() {
        kept.values().forEach(k -> counter.unwatch(k.id));
        kept.clear();
    }

    /** Maps whose contents the last observation took from here / read from the kernel. */
    public int reused() {
        return reused;
    }

    public int read() {
        return read;
    }

    /** Called by {@link Observer} before it reads any map. */
    void begin() {
        reused = 0;
        read = 0;
        seen.clear();
        long u = counter.unresolved();
        if (u != unresolved) {
            // a write the counter could not attribute may have been to any map
            unresolved = u;
            forget();
        }
    }

    /** The kept contents of the map at {@code pin} when no write reached it since they were read. */
    Optional<Map<Bytes, Bytes>> reusable(Path pin, MapInfo info) {
        seen.add(pin);
        Kept k = kept.get(pin);
        if (k != null && k.id == info.id()) {
            OptionalLong now = counter.writes(info.id());
            if (now.isPresent() && now.getAsLong() == k.writes) {
                reused++;
                return Optional.of(k.entries());
            }
        }
        if (k != null && k.id != info.id()) {
            counter.unwatch(k.id);
        }
        kept.remove(pin);
        return Optional.empty();
    }

    /**
     * The count of the map, read before its contents are (so call it right before), or -1 when the map cannot
     * be watched; pass it to {@link #keep} with the contents.
     */
    long before(MapInfo info) {
        counter.watch(info.id());
        return counter.writes(info.id()).orElse(-1);
    }

    void keep(Path pin, MapInfo info, long before, Map<Bytes, Bytes> entries) {
        read++;
        if (before >= 0) {
            kept.put(pin, new Kept(info.id(), before, unresolved, SortedEntries.copyOf(entries), null));
        }
    }

    /**
     * This process put {@code entries} into the map at {@code pin} (the call returned without error): the kept
     * contents take it in, merged when next asked for (the kernel counted it already, so a reader in between finds
     * a count that does not match the kept one and reads the map).
     */
    void wrote(Path pin, Collection<Entry> entries) {
        Kept k = kept.get(pin);
        if (k == null || entries.isEmpty()) {
            return;
        }
        kept.put(pin, k.plus(entries.size(), List.copyOf(entries), List.of()));
    }

    /** This process deleted {@code keys} from the map at {@code pin} (the call returned without error). */
    void deleted(Path pin, Collection<Bytes> keys) {
        Kept k = kept.get(pin);
        if (k == null || keys.isEmpty()) {
            return;
        }
        kept.put(pin, k.plus(keys.size(), List.of(), List.copyOf(keys)));
    }

    /**
     * A write of this process to the map at {@code pin} failed: some of it may be in the map. Its kept contents
     * are dropped (the next observation reads the map; the counter, which moved by what went in, would tell
     * anyway: this does not depend on it).
     */
    void failed(Path pin) {
        kept.remove(pin);
    }

    /**
     * {@code kernel}, telling the cache {@code cache} supplies (when not null at the time) of every map write
     * made through it, so that the kept contents follow this process's own writes.
     */
    public static Kernel recording(Kernel kernel, Supplier<EntryCache> cache) {
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class},
                (proxy, method, args) -> {
                    Object result;
                    try {
                        result = method.invoke(kernel, args);
                    } catch (InvocationTargetException e) {
                        EntryCache c = cache.get();
                        if (c != null && args != null && args.length == 2 && args[0] instanceof Path pin
                                && (method.getName().equals("update") || method.getName().equals("delete"))) {
                            c.failed(pin);
                        }
                        throw e.getCause();
                    }
                    EntryCache c = cache.get();
                    if (c != null && args != null && args.length == 2 && args[0] instanceof Path pin
                            && args[1] instanceof Collection<?> items) {
                        if (method.getName().equals("update")) {
                            @SuppressWarnings("unchecked") Collection<Entry> es = (Collection<Entry>) items;
                            c.wrote(pin, es);
                        } else if (method.getName().equals("delete")) {
                            @SuppressWarnings("unchecked") Collection<Bytes> ks = (Collection<Bytes>) items;
                            c.deleted(pin, ks);
                        }
                    }
                    return result;
                });
    }

    /**
     * The kept contents of the map {@code mapId} at {@code pin} (the very object, so that a caller can tell the
     * same contents by identity) when the kernel counted no write to it since they were read or folded in, and no
     * unattributed write either: then they are the map's contents now. Empty otherwise, or when the counter
     * cannot be read. Safe from any thread: it reads only the kernel's counts and the kept records the loop
     * thread publishes (a write of ours moves the count before its contents are folded in here, so a reader in
     * between finds a count that does not match and reads the map).
     */
    public Optional<SortedEntries> unchanged(Path pin, int mapId) {
        Kept k = kept.get(pin);
        if (k == null || k.id != mapId) {
            return Optional.empty();
        }
        try {
            if (counter.unresolved() != k.unresolved) {
                return Optional.empty();
            }
            OptionalLong now = counter.writes(mapId);
            return now.isPresent() && now.getAsLong() == k.writes ? Optional.of(k.entries()) : Optional.empty();
        } catch (RuntimeException e) {
            return Optional.empty();   // the counter is being closed (the sidecar stops): read the map
        }
    }

    /**
     * Reads maps through {@code kernel}, answering with the contents {@code cache} supplies (when not null at the
     * time) keeps {@link #unchanged} for the map pinned there now, instead of dumping them. One open of the pin
     * either way: the check runs in {@link Kernel#readMap}'s predicate, on the map's info, before any dump. For
     * readers on other threads than the loop's (the /metrics scrape of a 100k-rule trie: a kernel dump of about
     * 60 ms otherwise).
     */
    public static MapReader readingKept(Kernel kernel, Supplier<EntryCache> cache) {
        return (pin, withEntries) -> {
            EntryCache c = cache.get();
            if (c == null) {
                return kernel.readMap(pin, withEntries);
            }
            SortedEntries[] kept = new SortedEntries[1];
            Optional<Kernel.MapRead> read = kernel.readMap(pin, info -> {
                kept[0] = null;
                if (!withEntries.test(info)) {
                    return false;
                }
                Optional<SortedEntries> k = c.unchanged(pin, info.id());
                if (k.isPresent()) {
                    kept[0] = k.get();
                    return false;
                }
                return true;
            });
            SortedEntries k = kept[0];
            return k == null ? read : read.map(r -> new Kernel.MapRead(r.info(), Optional.of(k)));
        };
    }

    /** Called by {@link Observer} after it read every map: maps no longer pinned are dropped. */
    void end() {
        for (var it = kept.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!seen.contains(e.getKey())) {
                counter.unwatch(e.getValue().id);
                it.remove();
            }
        }
    }
}
