package dev.bpfgit.kernel;

/** A live program, from BPF_OBJ_GET_INFO_BY_FD. {@code tag} is the kernel's 8-byte tag in hex. */
public record ProgramInfo(int id, String name, int type, String tag) {
}
