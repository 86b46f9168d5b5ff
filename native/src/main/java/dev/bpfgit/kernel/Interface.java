package dev.bpfgit.kernel;

/** A network interface in the caller's network namespace. */
public record Interface(String name, int ifindex) {
}
