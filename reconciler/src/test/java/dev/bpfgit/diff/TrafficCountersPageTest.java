package dev.bpfgit.diff;

import dev.bpfgit.compile.Le;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.SortedEntries;
import dev.bpfgit.kind.traffic.TrafficCounters;
import dev.bpfgit.kind.traffic.TrafficLayout;
import dev.bpfgit.observe.LiveState;
import dev.bpfgit.source.Snapshot;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A capped read of a unit's counters (the metrics scrape's) is the first part of the full read: the same rules
 * in the same order with the same counts, whether its counters come slot by slot (few) or from one batch read of
 * the counters map (many), and the total it reports is the full list's length.
 */
class TrafficCountersPageTest {
    private final Fixture f = new Fixture();

    @Test
    void aCappedReadIsTheFirstPartOfTheFullRead() {
        List<String> rules = new ArrayList<>();
        for (int i = 0; i < 1200; i++) {
            rules.add("{prefix: 10.0." + (i / 256) + "." + (i % 256) + "/32, action: drop}");
        }
        for (int i = 0; i < 300; i++) {
            rules.add("{prefix: 2001:db8::" + Integer.toHexString(i + 1) + "/128, action: pass}");
        }
        Snapshot s = Fixture.edge("r1", rules.toArray(String[]::new));
        f.converge(s);
        LiveState live = f.live(f.desired(s));
        Path dir = Fixture.ROOT.resolve("traffic/eth0/xdp");

        // counts on the first v4 rule, a late v4 rule and the last v6 rule; one CPU's slot of the late rule has an
        // older rule's generation and is not counted; the default slot counts on both CPUs
        SortedEntries v4 = (SortedEntries) live.maps().get(dir.resolve("rules_v4")).entries().orElseThrow();
        SortedEntries v6 = (SortedEntries) live.maps().get(dir.resolve("rules_v6")).entries().orElseThrow();
        count(dir, TrafficLayout.rule(v4.value(0)), 7, 700, 3, 300, true);
        count(dir, TrafficLayout.rule(v4.value(1100)), 5, 500, 9, 900, false);
        count(dir, TrafficLayout.rule(v6.value(299)), 1, 100, 2, 200, true);
        count(dir, new TrafficLayout.Rule(0, 0, 0, 0, 0, null), 4, 40, 6, 60, true);

        List<TrafficCounters.Count> full = TrafficCounters.read(f.kernel, live, dir);
        assertEquals(1501, full.size(), "1500 rules and the default slot");
        assertEquals("10.0.0.0/32", full.get(0).prefix());
        assertEquals(10, full.get(0).packets());
        assertEquals(1000, full.get(0).bytes());
        assertEquals(5, full.get(1100).packets(), "the CPU whose slot holds another generation is left out");
        assertEquals("2001:db8::12c/128", full.get(1499).prefix());
        assertEquals(3, full.get(1499).packets());
        assertEquals("default", full.get(1500).prefix());
        assertEquals(10, full.get(1500).packets());

        for (int limit : new int[]{0, 1, 2, 1024, 1025, 1200, 1201, 1499, 1500, 1501, 5000}) {
            TrafficCounters.Page page = TrafficCounters.read(f.kernel, live, dir, limit);
            assertEquals(1501, page.total(), "limit " + limit);
            assertEquals(full.subList(0, Math.min(limit, full.size())), page.counts(), "limit " + limit);
        }
    }

    private void count(Path dir, TrafficLayout.Rule r, long p0, long b0, long p1, long b1, boolean sameGen) {
        ByteBuffer v = ByteBuffer.allocate(2 * 24).order(ByteOrder.LITTLE_ENDIAN);
        v.putLong(p0).putLong(b0).putInt((int) r.gen()).putInt(0);
        v.putLong(p1).putLong(b1).putInt((int) (sameGen ? r.gen() : r.gen() + 1)).putInt(0);
        f.kernel.update(dir.resolve("counters"), List.of(new Entry(Bytes.wrap(Le.u32(r.slot())), Bytes.wrap(v.array()))));
    }
}
