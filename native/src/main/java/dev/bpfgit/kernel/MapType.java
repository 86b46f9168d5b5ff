package dev.bpfgit.kernel;

/** The BPF map types bpfgit creates, with their kernel numbers (enum bpf_map_type). */
public enum MapType {
    HASH(1),
    ARRAY(2),
    PERCPU_HASH(5),
    PERCPU_ARRAY(6),
    LPM_TRIE(11),
    SOCKMAP(15),
    REUSEPORT_SOCKARRAY(20),
    SOCKHASH(18),
    /** Per-socket storage: no keys to list, its entries live and die with their sockets. */
    SK_STORAGE(24);

    public final int id;

    MapType(int id) {
        this.id = id;
    }

    public boolean perCpu() {
        return this == PERCPU_HASH || this == PERCPU_ARRAY;
    }

    public static MapType of(int id) {
        for (MapType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        throw new IllegalArgumentException("map type " + id + " is not one bpfgit manages");
    }
}
