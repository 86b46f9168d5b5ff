package dev.bpfgit.kernel;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class IndexRunTest {

    @Test
    void holdsWhatAListWouldAcrossEveryGrowth() {
        Random r = new Random(11);
        for (int limit : new int[] {0, 1, 2, 1023, 1024, 1025, 2049, 5000}) {
            for (int round = 0; round < 5; round++) {
                int adds = round == 0 ? limit : r.nextInt(limit + 1);
                IndexRun run = new IndexRun(limit);
                List<Integer> plain = new ArrayList<>();
                for (int i = 0; i < adds; i++) {
                    int v = r.nextInt();
                    run.add(v);
                    plain.add(v);
                }
                assertEquals(plain.size(), run.size(), "limit " + limit);
                assertArrayEquals(plain.stream().mapToInt(Integer::intValue).toArray(), run.toArray(),
                        "limit " + limit + ", " + adds + " adds");
            }
        }
    }

    @Test
    void refusesMoreThanItsLimit() {
        for (int limit : new int[] {0, 3, 1024, 1500}) {
            IndexRun run = new IndexRun(limit);
            for (int i = 0; i < limit; i++) {
                run.add(i);
            }
            assertThrows(IndexOutOfBoundsException.class, () -> run.add(-1), "limit " + limit);
            assertEquals(limit, run.toArray().length);
        }
        assertThrows(IllegalArgumentException.class, () -> new IndexRun(-1));
    }
}
