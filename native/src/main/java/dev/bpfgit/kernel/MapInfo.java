package dev.bpfgit.kernel;

/** A live map, from BPF_OBJ_GET_INFO_BY_FD. {@code type} is the raw kernel number (see {@link MapType}). */
public record MapInfo(int id, String name, int type, int keySize, int valueSize, int maxEntries, int flags,
                      int btfId) {
}
