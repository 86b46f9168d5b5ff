package dev.bpfgit.policy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * An IPv4 or IPv6 CIDR prefix with no host bits set. Ordered by family, then address, then length.
 *
 * <p>A final class with a record's API rather than a record: a record's canonical constructor is the only way to
 * make one, and it must copy the caller's array, so every prefix parsed (and every key compiled, through
 * {@link #address()}) cost two arrays where one does (bench/README.md, "main17"). The parser's own arrays and
 * {@link #writeAddress} need no copy.
 */
public final class Prefix implements Comparable<Prefix> {
    private final byte[] address;
    private final int length;

    /** A copy of {@code address} (4 or 16 bytes, network order) and a length in 0..its bits. */
    public Prefix(byte[] address, int length) {
        this(length, address.clone());
    }

    /**
     * @param owned an array nobody else holds: kept as it is (the parameters in the other order than the public
     *              constructor's, which copies)
     */
    private Prefix(int length, byte[] owned) {
        if (owned.length != 4 && owned.length != 16) {
            throw new IllegalArgumentException("address of " + owned.length + " bytes");
        }
        if (length < 0 || length > owned.length * 8) {
            throw new IllegalArgumentException("prefix length " + length + " out of range");
        }
        this.address = owned;
        this.length = length;
    }

    /**
     * The prefix of an address that the caller made for it and does not keep or change (its own new array):
     * not copied.
     */
    public static Prefix ofOwned(byte[] address, int length) {
        return new Prefix(length, address);
    }

    public int length() {
        return length;
    }

    /** The address's bytes written at {@code at} of {@code out}, without the copy {@link #address()} makes. */
    public void writeAddress(byte[] out, int at) {
        System.arraycopy(address, 0, out, at, address.length);
    }

    /** Bytes of the address: 4 or 16. */
    public int addressLength() {
        return address.length;
    }

    public boolean ipv6() {
        return address.length == 16;
    }

    /**
     * An IPv4 prefix's address and length in one number ({@code address << 8 | length}), distinct for distinct
     * IPv4 prefixes; -1 for IPv6. For sets of many prefixes without a {@code Prefix} hashed per entry.
     */
    public long ipv4Key() {
        if (address.length != 4) {
            return -1;
        }
        long bits = ((address[0] & 0xffL) << 24) | ((address[1] & 0xff) << 16) | ((address[2] & 0xff) << 8)
                | (address[3] & 0xff);
        return bits << 8 | length;
    }

    /** A copy of the address: 4 or 16 bytes, network order. */
    public byte[] address() {
        return address.clone();
    }

    /**
     * Parses {@code 10.0.0.0/8} or {@code 2001:db8::/32}. A bare address is a host prefix (/32 or /128).
     *
     * @throws IllegalArgumentException with a message fit for a user, e.g. one that suggests the network
     *                                  address when host bits are set
     */
    public static Prefix parse(String text) {
        Prefix fast = dotted(text);
        if (fast != null) {
            return fast;
        }
        return parseAny(text);
    }

    /**
     * The common case of a feed, {@code a.b.c.d/n} or {@code a.b.c.d} written canonically (octets 0..255 and
     * a length 0..32 without leading zeros, no host bits, no spaces), read without a regular expression or
     * {@link InetAddress}; null for anything else, which {@link #parseAny} reads (and words the errors of)
     * as before. {@code PrefixParseTest} holds the two to the same result.
     */
    static Prefix dotted(String s) {
        int n = s.length(), i = 0;
        byte[] a = new byte[4];
        for (int octet = 0; octet < 4; octet++) {
            int start = i, v = 0;
            while (i < n && i - start < 3) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') {
                    break;
                }
                v = v * 10 + (c - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || v > 255 || (digits > 1 && s.charAt(start) == '0')) {
                return null;
            }
            a[octet] = (byte) v;
            if (octet < 3) {
                if (i >= n || s.charAt(i) != '.') {
                    return null;
                }
                i++;
            }
        }
        int len = 32;
        if (i < n) {
            if (s.charAt(i) != '/') {
                return null;
            }
            int start = ++i;
            len = 0;
            while (i < n && i - start < 2) {
                char c = s.charAt(i);
                if (c < '0' || c > '9') {
                    return null;
                }
                len = len * 10 + (c - '0');
                i++;
            }
            int digits = i - start;
            if (i < n || digits == 0 || len > 32 || (digits > 1 && s.charAt(start) == '0')) {
                return null;
            }
        }
        int bits = ((a[0] & 0xff) << 24) | ((a[1] & 0xff) << 16) | ((a[2] & 0xff) << 8) | (a[3] & 0xff);
        if (len < 32 && (bits & (-1 >>> len)) != 0) {
            return null;   // host bits set: the message (with its suggestion) is parseAny's
        }
        return new Prefix(len, a);
    }

    /** Any prefix, IPv4 or IPv6, and the words of every error. */
    static Prefix parseAny(String text) {
        String s = text.trim();
        int slash = s.indexOf('/');
        String addr = slash < 0 ? s : s.substring(0, slash);
        if (addr.isEmpty() || !(addr.contains(":") || addr.matches("[0-9.]+"))) {
            throw new IllegalArgumentException("'" + Shown.value(text) + "' is not an IPv4 or IPv6 prefix");
        }
        if (!addr.contains(":") && !addr.matches("(\\d{1,3}\\.){3}\\d{1,3}")) {
            throw new IllegalArgumentException("'" + Shown.value(text) + "' is not an IPv4 or IPv6 prefix");
        }
        InetAddress ia;
        try {
            // a literal or nothing: getByName asked the name service about e.g. 1.2.3.999 or 1::2::3, one
            // lookup per such prefix (and a hang without a resolver)
            ia = InetAddress.ofLiteral(addr);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + Shown.value(text) + "' is not an IPv4 or IPv6 prefix");
        }
        byte[] bytes = ia.getAddress();
        if (addr.contains(":") && ia instanceof Inet4Address) {
            throw new IllegalArgumentException("'" + Shown.value(text) + "': IPv4-mapped IPv6 is not accepted; write "
                    + ia.getHostAddress());
        }
        int max = bytes.length * 8;
        int len;
        if (slash < 0) {
            len = max;
        } else {
            String l = s.substring(slash + 1);
            if (!l.matches("\\d{1,3}") || Integer.parseInt(l) > max) {
                throw new IllegalArgumentException("'" + Shown.value(text) + "': prefix length must be 0.." + max);
            }
            len = Integer.parseInt(l);
        }
        byte[] net = mask(bytes, len);
        if (!Arrays.equals(net, bytes)) {
            throw new IllegalArgumentException("'" + Shown.value(text) + "' has host bits set; did you mean "
                    + new Prefix(len, net) + "?");
        }
        return new Prefix(len, net);
    }

    private static byte[] mask(byte[] a, int len) {
        byte[] r = a.clone();
        for (int i = 0; i < r.length; i++) {
            int bits = Math.max(0, Math.min(8, len - i * 8));
            r[i] &= (byte) (0xff << (8 - bits));
        }
        return r;
    }

    /**
     * {@link #toString()}, as {@code written} itself when that is already it: a feed's prefixes are written
     * canonically, and the reader compared each with a new string.
     */
    public String canonical(String written) {
        return address.length == 4 && writtenAs(written) ? written : toString();
    }

    /** Whether {@code s} is this IPv4 prefix's {@link #toString()}: a.b.c.d/n in decimal, no leading zeros. */
    private boolean writtenAs(String s) {
        int i = 0, n = s.length();
        for (int k = 0; k < 5; k++) {
            int v = k < 4 ? address[k] & 0xff : length;
            int digits = v >= 100 ? 3 : v >= 10 ? 2 : 1;
            if (i + digits > n) {
                return false;
            }
            for (int j = digits - 1, x = v; j >= 0; j--, x /= 10) {
                if (s.charAt(i + j) != '0' + x % 10) {
                    return false;
                }
            }
            i += digits;
            if (k < 4) {
                if (i >= n || s.charAt(i) != (k < 3 ? '.' : '/')) {
                    return false;
                }
                i++;
            }
        }
        return i == n;
    }

    @Override
    public String toString() {
        if (address.length == 4) {
            // what InetAddress.getHostAddress() writes for IPv4, without making one
            return (address[0] & 0xff) + "." + (address[1] & 0xff) + "." + (address[2] & 0xff) + "."
                    + (address[3] & 0xff) + "/" + length;
        }
        try {
            InetAddress ia = InetAddress.getByAddress(address);
            String host = ia instanceof Inet6Address ? compress6(address) : ia.getHostAddress();
            return host + "/" + length;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** RFC 5952 text form: lower case, longest run of zero groups compressed. */
    private static String compress6(byte[] a) {
        int[] g = new int[8];
        for (int i = 0; i < 8; i++) {
            g[i] = ((a[2 * i] & 0xff) << 8) | (a[2 * i + 1] & 0xff);
        }
        int bestStart = -1, bestLen = 0;
        for (int i = 0; i < 8; ) {
            if (g[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && g[j] == 0) {
                j++;
            }
            if (j - i > bestLen && j - i >= 2) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(g[i]));
        }
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Prefix p && length == p.length && Arrays.equals(address, p.address);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(address) * 31 + length;
    }

    @Override
    public int compareTo(Prefix o) {
        int c = Integer.compare(address.length, o.address.length);
        if (c != 0) {
            return c;
        }
        c = Arrays.compareUnsigned(address, o.address);
        return c != 0 ? c : Integer.compare(length, o.length);
    }
}
