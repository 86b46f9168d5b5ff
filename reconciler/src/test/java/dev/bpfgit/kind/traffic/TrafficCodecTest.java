package dev.bpfgit.kind.traffic;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The diff orders changes by {@link TrafficCodec#specificity}: it must be the key's prefix length, as a Prefix reads it. */
class TrafficCodecTest {
    private final TrafficCodec codec = new TrafficCodec(Map.of());

    @Test
    void specificityIsThePrefixLengthOfEveryV4AndV6Key() {
        for (int bytes : new int[]{4, 16}) {
            for (int len = 0; len <= bytes * 8; len++) {
                byte[] a = new byte[bytes];
                a[0] = (byte) 0xc0;
                Bytes key = TrafficLayout.key(new Prefix(a, len));
                assertEquals(len, codec.specificity(key), bytes + " bytes /" + len);
                assertEquals(TrafficLayout.prefix(key).length(), codec.specificity(key));
            }
        }
    }

    @Test
    void aKeyThatIsNoPrefixFailsAsBefore() {
        byte[] tooLong = {33, 0, 0, 0, 10, 0, 0, 1};           // a /33 of IPv4
        byte[] negative = {0, 0, 0, (byte) 0x80, 10, 0, 0, 1};  // length 2^31 read as an int
        byte[] oddSize = {8, 0, 0, 0, 10, 0, 0};                 // three address bytes
        for (byte[] k : new byte[][]{tooLong, negative, oddSize}) {
            assertThrows(IllegalArgumentException.class, () -> codec.specificity(Bytes.wrap(k)));
        }
    }
}
