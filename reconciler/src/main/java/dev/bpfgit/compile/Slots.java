package dev.bpfgit.compile;

/**
 * A map whose values carry a counter slot and its generation (two little-endian u32 at {@code offset} and
 * {@code offset + 4}). Slots are not policy: compile leaves them 0, and the diff keeps the live slot of an
 * entry that stays, or gives a new entry the lowest free slot of its space ({@code 1..capacity}, shared by
 * every map of the unit naming the same space) and a fresh generation, so per-rule counters survive
 * changes and start from zero for a new rule without any extra map write.
 */
public record Slots(String space, int capacity, int offset) {
}
