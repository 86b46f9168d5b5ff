package dev.bpfgit.kernel;

/** One map entry. */
public record Entry(Bytes key, Bytes value) {
}
