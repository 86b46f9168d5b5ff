package dev.bpfgit.kernel;

/** What a bpffs pin holds. */
public enum PinType { MAP, PROG, LINK }
