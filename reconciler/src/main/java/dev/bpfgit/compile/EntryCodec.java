package dev.bpfgit.compile;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.SortedEntries;

import java.util.List;
import java.util.function.IntPredicate;

/**
 * How one kind reads the entries of one of its maps: for plans (a human description), for the
 * traffic-safe order of writes (specificity), and for grouping by owning policy.
 */
public interface EntryCodec {

    /** e.g. {@code "203.0.113.0/24"} */
    String key(Bytes key);

    /**
     * {@code key(key).length()}: what the text plan lines its keys up by, which a codec may count without making
     * the text (the plan makes each changed key's text once more for its line). Must equal it, and fail as it fails.
     */
    default int keyLength(Bytes key) {
        return key(key).length();
    }

    /** e.g. {@code "redirect eth1"}; ignores bookkeeping fields such as counter slots. */
    String value(Bytes value);

    /** How specific a key is (prefix length for LPM tries); adds go most specific first, removals last. */
    default int specificity(Bytes key) {
        return 0;
    }

    /**
     * {@link #specificity} of key {@code i} of {@code entries}: the diff asks it of every changed entry, and a codec
     * that reads the key in place spares the copy {@link SortedEntries#key} makes. Must equal
     * {@code specificity(entries.key(i))}.
     */
    default int specificity(SortedEntries entries, int i) {
        return specificity(entries.key(i));
    }

    /**
     * The keys a lookup falls back to when {@code key} is gone: for an LPM trie, the shorter prefixes that
     * contain it, shortest first, only at the specificities {@code specificity} accepts (the caller knows
     * which occur: a /48 need not make 48 keys when only /32s are there). Empty for exact-match maps. The diff uses it to order removals that must
     * run before adds (a full map) so that as few packets as possible meet a rule of neither state.
     */
    default List<Bytes> containers(Bytes key, IntPredicate specificity) {
        return List.of();
    }

    /** The policy id owning an entry ({@link PolicyIds}), or 0 when the map belongs to the whole unit. */
    default int owner(Bytes value) {
        return 0;
    }

    /**
     * {@link #owner} of value {@code i} of {@code entries}: the text plan asks it of every changed entry, and a codec
     * that reads the value in place spares the copy {@link SortedEntries#value} makes. Must equal
     * {@code owner(entries.value(i))}, and fail as it fails.
     */
    default int owner(SortedEntries entries, int i) {
        return owner(entries.value(i));
    }

    /** {@link #value} of value {@code i} of {@code entries}, as {@link #owner(SortedEntries, int)} is {@link #owner}. */
    default String value(SortedEntries entries, int i) {
        return value(entries.value(i));
    }

    /** A codec that prints hex, for maps without a richer one. */
    EntryCodec HEX = new EntryCodec() {
        public String key(Bytes key) {
            return key.toHex();
        }

        public String value(Bytes value) {
            return value.toHex();
        }
    };
}
