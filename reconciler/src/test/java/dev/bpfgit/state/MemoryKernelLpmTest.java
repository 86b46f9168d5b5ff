package dev.bpfgit.state;

import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The in-memory kernel answers lookups in an LPM trie as the kernel does: the longest stored prefix. */
class MemoryKernelLpmTest {
    private static final Path DIR = Path.of("/sys/fs/bpf/t");

    private static Bytes key(String prefix) {
        return TrafficLayout.key(Prefix.parse(prefix));
    }

    private static Bytes value(int n) {
        return Bytes.wrap(new byte[]{(byte) n, 0, 0, 0});
    }

    private static MemoryKernel trie(int keySize, Map<String, Integer> entries) {
        MemoryKernel k = new MemoryKernel(Map.of(), 1);
        k.makeDirs(DIR);
        k.createMap(DIR.resolve("m"), new MapSpec("m", MapType.LPM_TRIE, keySize, 4, 64,
                MapSpec.BPF_F_NO_PREALLOC, Optional.empty()));
        k.update(DIR.resolve("m"), entries.entrySet().stream().map(e -> new Entry(key(e.getKey()), value(e.getValue())))
                .toList());
        return k;
    }

    @Test
    void theLongestMatchingPrefixAnswersAndNothingWhenNoneMatches() {
        MemoryKernel k = trie(8, Map.of("10.0.0.0/8", 1, "10.1.0.0/16", 2, "10.1.2.3/32", 3, "0.0.0.0/0", 4));
        Path m = DIR.resolve("m");
        assertEquals(Optional.of(value(3)), k.lookup(m, key("10.1.2.3")));
        assertEquals(Optional.of(value(2)), k.lookup(m, key("10.1.2.4")));
        assertEquals(Optional.of(value(1)), k.lookup(m, key("10.2.0.1")));
        assertEquals(Optional.of(value(4)), k.lookup(m, key("192.0.2.1")), "the /0 holds every address");

        MemoryKernel noDefault = trie(8, Map.of("10.0.0.0/8", 1));
        assertEquals(Optional.empty(), noDefault.lookup(m, key("11.0.0.1")));
    }

    @Test
    void theKeysPrefixLengthBoundsTheMatchAsInTheKernel() {
        MemoryKernel k = trie(8, Map.of("10.0.0.0/8", 1, "10.1.0.0/16", 2, "10.1.2.3/32", 3));
        Path m = DIR.resolve("m");
        // 10.1.2.3 looked up as /20: the /32 is longer than the key and not considered
        assertEquals(Optional.of(value(2)), k.lookup(m, TrafficLayout.key(new Prefix(new byte[]{10, 1, 2, 3}, 20))));
        assertEquals(Optional.of(value(1)), k.lookup(m, TrafficLayout.key(new Prefix(new byte[]{10, 1, 2, 3}, 15))));
        assertEquals(Optional.empty(), k.lookup(m, TrafficLayout.key(new Prefix(new byte[]{10, 1, 2, 3}, 7))));
    }

    @Test
    void ipv6AndExactLookupsInOtherMaps() {
        MemoryKernel k = trie(20, Map.of("2001:db8::/32", 1, "2001:db8:bad::/48", 2));
        Path m = DIR.resolve("m");
        assertEquals(Optional.of(value(2)), k.lookup(m, key("2001:db8:bad::7")));
        assertEquals(Optional.of(value(1)), k.lookup(m, key("2001:db8:600d::7")));
        assertEquals(Optional.empty(), k.lookup(m, key("2001:db9::1")));
        assertThrows(KernelException.class, () -> k.lookup(m, key("10.0.0.1")), "a key of the wrong size: EINVAL");

        MemoryKernel hash = new MemoryKernel(Map.of(), 1);
        hash.makeDirs(DIR);
        hash.createMap(DIR.resolve("h"), new MapSpec("h", MapType.HASH, 8, 4, 8, 0, Optional.empty()));
        hash.update(DIR.resolve("h"), List.of(new Entry(key("10.0.0.0/8"), value(1))));
        assertEquals(Optional.empty(), hash.lookup(DIR.resolve("h"), key("10.0.0.1")), "a hash map matches exactly");
        assertEquals(Optional.of(value(1)), hash.lookup(DIR.resolve("h"), key("10.0.0.0/8")));
    }
}
