package dev.bpfgit.kernel;

/** A process that has a socket open: its pid and command ({@code /proc/PID/comm}). */
public record SocketOwner(int pid, String command) {
}
