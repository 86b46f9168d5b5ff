package dev.bpfgit.kernel;

/** The transport of a socket group: TCP listeners or bound UDP sockets. */
public enum SocketProtocol {
    TCP, UDP
}
