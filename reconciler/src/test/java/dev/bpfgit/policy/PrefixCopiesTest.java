package dev.bpfgit.policy;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Prefix} is a value: what its public constructor is given and what {@link Prefix#address()} returns are
 * copies, so that no caller can change a prefix; {@link Prefix#writeAddress} writes what {@code address()} returns.
 */
class PrefixCopiesTest {
    @Test
    void theConstructorAndTheAccessorCopyTheAddress() {
        byte[] given = {10, 1, 2, 0};
        Prefix p = new Prefix(given, 24);
        given[2] = 99;
        assertEquals("10.1.2.0/24", p.toString());
        byte[] got = p.address();
        got[0] = 11;
        assertEquals("10.1.2.0/24", p.toString());
        assertNotSame(p.address(), p.address());
        assertEquals(new Prefix(new byte[]{10, 1, 2, 0}, 24), p);
        assertEquals(new Prefix(new byte[]{10, 1, 2, 0}, 24).hashCode(), p.hashCode());
    }

    @Test
    void parsedPrefixesAreValuesAndWriteTheirAddress() {
        Random r = new Random(1728);
        for (int i = 0; i < 20_000; i++) {
            boolean v6 = r.nextInt(4) == 0;
            byte[] a = new byte[v6 ? 16 : 4];
            r.nextBytes(a);
            int len = r.nextInt(a.length * 8 + 1);
            Prefix made = new Prefix(Prefix.parseAny(new Prefix(a, a.length * 8).toString().replaceAll("/\\d+$", ""))
                    .address(), a.length * 8);
            // the network of a/len, through the public constructor and through parse of its text
            Prefix net = Prefix.parse(truncated(a, len) + "/" + len);
            assertEquals(net, Prefix.parse(net.toString()));
            assertEquals(made, Prefix.parse(made.toString()));
            byte[] out = new byte[3 + net.addressLength() + 2];
            Arrays.fill(out, (byte) 0x5a);
            net.writeAddress(out, 3);
            assertArrayEquals(net.address(), Arrays.copyOfRange(out, 3, 3 + net.addressLength()));
            assertEquals(0x5a, out[2]);
            assertEquals(0x5a, out[out.length - 1]);
            assertEquals(len, net.length());
            byte[] copy = net.address();
            Arrays.fill(copy, (byte) 0xff);
            assertEquals(net, Prefix.parse(net.toString()));
        }
    }

    @Test
    void anAddressOfAnotherSizeOrALengthOutOfRangeIsRefusedEitherWay() {
        for (int n : new int[]{0, 3, 5, 15, 17}) {
            assertThrows(IllegalArgumentException.class, () -> new Prefix(new byte[n], 0));
            assertThrows(IllegalArgumentException.class, () -> Prefix.ofOwned(new byte[n], 0));
        }
        assertThrows(IllegalArgumentException.class, () -> new Prefix(new byte[4], 33));
        assertThrows(IllegalArgumentException.class, () -> Prefix.ofOwned(new byte[16], 129));
        assertThrows(IllegalArgumentException.class, () -> Prefix.ofOwned(new byte[4], -1));
    }

    private static String truncated(byte[] a, int len) {
        byte[] net = a.clone();
        for (int i = 0; i < net.length; i++) {
            int bits = Math.max(0, Math.min(8, len - i * 8));
            net[i] &= (byte) (0xff << (8 - bits));
        }
        return new Prefix(net, net.length * 8).toString().replaceAll("/\\d+$", "");
    }
}
