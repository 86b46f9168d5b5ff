package dev.bpfgit.kind;

import dev.bpfgit.compile.EntryCodec;
import dev.bpfgit.compile.Le;
import dev.bpfgit.compile.MapDesire;
import dev.bpfgit.kernel.BtfTypes;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.kernel.ObjectFile;
import dev.bpfgit.policy.Prefix;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The maps the socket kinds (SocketTermination, EgressTimeout) declare alike: a pair of LPM tries of destination
 * prefixes, one per address family, keyed {@code struct { __u32 prefixlen; __u8 addr[4|16]; }} (address in
 * network order), and a counters map that only the kernel programs write.
 */
public final class LpmMaps {
    private LpmMaps() {
    }

    public static Bytes key(Prefix p) {
        byte[] k = new byte[4 + p.addressLength()];
        Le.putU32(k, 0, p.length());
        p.writeAddress(k, 4);
        return Bytes.wrap(k);
    }

    public static Prefix prefix(Bytes key) {
        // read in place: the text plan asks this of every changed entry, and a copy of the key was one array more
        byte[] a = new byte[key.size() - 4];
        for (int i = 0; i < a.length; i++) {
            a[i] = key.get(4 + i);
        }
        return Prefix.ofOwned(a, (int) Le.u32(key, 0));
    }

    /**
     * The tries {@code <name>_v4} and {@code <name>_v6} in {@code dir}, their keys typed {@code struct <keyType>_v4}
     * and {@code _v6} in the object's BTF.
     *
     * @param v4 the entries of the IPv4 trie ({@link #key} to the value), v6 those of the IPv6 one
     */
    public static List<MapDesire> tries(Path dir, ObjectFile obj, String name, String keyType, int valueSize,
                                        String valueType, int maxEntries, Map<Bytes, Bytes> v4, Map<Bytes, Bytes> v6,
                                        EntryCodec codec) {
        return List.of(trie(dir, obj, name + "_v4", "struct " + keyType + "_v4", 8, valueSize, valueType, maxEntries,
                        v4, codec),
                trie(dir, obj, name + "_v6", "struct " + keyType + "_v6", 20, valueSize, valueType, maxEntries, v6,
                        codec));
    }

    private static MapDesire trie(Path dir, ObjectFile obj, String name, String keyType, int keySize, int valueSize,
                                  String valueType, int maxEntries, Map<Bytes, Bytes> entries, EntryCodec codec) {
        return new MapDesire(dir.resolve(name), new MapSpec(name, MapType.LPM_TRIE, keySize, valueSize, maxEntries,
                MapSpec.BPF_F_NO_PREALLOC, Optional.of(new BtfTypes(obj, keyType, valueType))), Optional.of(entries),
                codec, Optional.empty());
    }

    /** A map of counters keyed by a {@code __u32}: its entries are the programs', never desired. */
    public static MapDesire counters(Path dir, ObjectFile obj, String name, MapType type, int valueSize,
                                     String valueType, int maxEntries) {
        return new MapDesire(dir.resolve(name), new MapSpec(name, type, 4, valueSize, maxEntries, 0,
                Optional.of(new BtfTypes(obj, "__u32", valueType))), Optional.empty(), EntryCodec.HEX, Optional.empty());
    }

    /** Whether the address (4 or 16 bytes, network order) is in the prefix: the trie's match, in Java. */
    public static boolean contains(Prefix p, byte[] address) {
        byte[] net = p.address();
        if (net.length != address.length) {
            return false;
        }
        int len = p.length();
        for (int i = 0; i < net.length && len > 0; i++, len -= 8) {
            int mask = len >= 8 ? 0xff : (0xff << (8 - len)) & 0xff;
            if ((net[i] & mask) != (address[i] & mask)) {
                return false;
            }
        }
        return true;
    }
}
