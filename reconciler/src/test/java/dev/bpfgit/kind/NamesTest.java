package dev.bpfgit.kind;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.observe.Meta;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The naming rule of units and meta keys: today's names unchanged, long identifiers hashed and recoverable. */
class NamesTest {
    @Test
    void interfaceNamesAndTodaysMetaKeysAreKeptAsTheyAre() {
        for (String ifname : new String[]{"eth0", "veth-a.100", "enp0s31f6", "lo"}) {
            assertEquals(ifname, UnitNames.segment(ifname));
        }
        String owner = Meta.ownerKey("traffic/enp0s31f6/tc-ingress", "TrafficPolicy/" + "a".repeat(40));
        assertEquals(owner, Meta.stored(owner));
        assertEquals(1, Meta.encode(owner, "").size());
    }

    @Test
    void longIdentifiersGetAReadablePrefixAndAHash() {
        String a = "/sys/fs/cgroup/" + "x".repeat(300) + "/a";
        String b = "/sys/fs/cgroup/" + "x".repeat(300) + "/b";
        String sa = UnitNames.segment(a);
        assertTrue(sa.startsWith("_sys_fs_cgroup_xxx") && !sa.contains("/"), sa);
        assertTrue(sa.getBytes(StandardCharsets.UTF_8).length <= UnitNames.MAX, sa);
        assertNotEquals(sa, UnitNames.segment(b));
        assertEquals(sa, UnitNames.segment(a));
        assertNotEquals("..", UnitNames.segment(".."));
    }

    @Test
    void aLongMetaKeyIsStoredHashedAndDecodedWhole() {
        String key = Meta.ownerKey("cgroup/" + "\u00e9".repeat(200), "SocketTermination/x");
        Map<Bytes, Bytes> stored = new HashMap<>();
        for (Entry e : Meta.encode(key, "v")) {
            stored.put(e.key(), e.value());
        }
        assertTrue(stored.size() > 2, "the full key takes several values");
        stored.keySet().forEach(k -> assertTrue(Meta.decode(k).getBytes(StandardCharsets.UTF_8).length < Meta.KEY_SIZE));
        Meta meta = Meta.decode(stored);
        assertEquals(Map.of(key, "v"), meta.values());
        assertEquals("v", meta.get(key).orElseThrow());
        assertEquals(Meta.encodeDelete(key).size(), stored.size());
    }
}
