package dev.bpfgit.kind;

import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.policy.Prefix;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** An LPM key is {@code struct { __u32 prefixlen; __u8 addr[]; }}: the prefix's length little-endian, then its address. */
class LpmMapsKeyTest {
    @Test
    void aKeyIsTheLengthThenTheAddressAndReadsBackAsThePrefix() {
        Random r = new Random(2811);
        for (int i = 0; i < 20_000; i++) {
            byte[] a = new byte[r.nextBoolean() ? 4 : 16];
            r.nextBytes(a);
            int len = r.nextInt(a.length * 8 + 1);
            Prefix p = new Prefix(a, len);   // host bits are the trie's business, not the key's
            byte[] k = LpmMaps.key(p).toArray();
            ByteBuffer expected = ByteBuffer.allocate(4 + a.length).order(ByteOrder.LITTLE_ENDIAN).putInt(len).put(a);
            assertArrayEquals(expected.array(), k);
            Prefix back = LpmMaps.prefix(Bytes.wrap(k));
            assertEquals(p, back);
            assertArrayEquals(a, back.address());
            Arrays.fill(k, (byte) 0);   // the prefix read holds no part of the key
            assertEquals(p, back);
        }
    }

    @Test
    void aKeyThatIsNoPrefixFailsAsBefore() {
        // a length beyond the address, or a u32 with its high bit set (a negative int)
        assertThrows(IllegalArgumentException.class, () -> LpmMaps.prefix(Bytes.wrap(new byte[]{33, 0, 0, 0, 1, 2, 3, 4})));
        assertThrows(IllegalArgumentException.class, () -> LpmMaps.prefix(Bytes.wrap(new byte[]{0, 0, 0, (byte) 0x80, 1, 2, 3, 4})));
        assertThrows(IllegalArgumentException.class, () -> LpmMaps.prefix(Bytes.wrap(new byte[]{8, 0, 0, 0, 1, 2, 3})));
        assertThrows(NegativeArraySizeException.class, () -> LpmMaps.prefix(Bytes.wrap(new byte[]{8, 0, 0})));
    }
}
