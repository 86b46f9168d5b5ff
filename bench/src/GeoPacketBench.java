import dev.bpfgit.kernel.TestRun;
import dev.bpfgit.kernel.linux.LinuxKernel;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * bench/geo's per-packet cost: BPF_PROG_TEST_RUN ({@link LinuxKernel#testRun}) of bpfgit's tc program holding
 * the whole geo table, of the bare LPM lookup in its rules_v4 trie (bench/src/geo_lookup.bpf.c) and of an
 * empty tc program, with 64-byte UDP frames to given destinations. Prints Markdown rows: ns per packet,
 * median (min-max) of RUNS runs of REPEAT repeats each, and the program's return code (checked by the
 * caller's eye: the geo program passes, TC_ACT_OK 0 or a redirect 7, the lookup returns 0 on a hit).
 *
 * <p>{@code java --source 25 -cp CLASSPATH bench/src/GeoPacketBench.java PROG LOOKUP EMPTY RUNS REPEAT
 * NAME=ADDRESS...}
 */
public final class GeoPacketBench {
    public static void main(String[] args) throws Exception {
        Path prog = Path.of(args[0]), lookup = Path.of(args[1]), empty = Path.of(args[2]);
        int runs = Integer.parseInt(args[3]), repeat = Integer.parseInt(args[4]);
        LinuxKernel kernel = new LinuxKernel();
        System.out.println("| destination | bpfgit program ns | bare LPM lookup ns | empty program ns | program / lookup | program - empty |");
        System.out.println("|---|---|---|---|---:|---:|");
        for (String a : Arrays.copyOfRange(args, 5, args.length)) {
            String name = a.substring(0, a.indexOf('=')), address = a.substring(a.indexOf('=') + 1);
            byte[] frame = frame(InetAddress.getByName(address).getAddress());
            double[] p = run(kernel, prog, frame, runs, repeat);
            double[] e = run(kernel, empty, frame, runs, repeat);
            String l = "n/a (IPv6)";
            double lm = Double.NaN;
            if (frame.length == 64 && frame[12] == 0x08) {
                double[] lk = run(kernel, lookup, frame, runs, repeat);
                l = fmt(lk);
                lm = median(lk);
            }
            System.out.printf(Locale.ROOT, "| %s %s (rc %d) | %s | %s | %s | %s | %.1f |%n", name, address,
                    kernel.testRun(prog, frame, 1).retval(), fmt(p), l, fmt(e),
                    Double.isNaN(lm) ? "" : String.format(Locale.ROOT, "%.2f×", median(p) / lm), median(p) - median(e));
        }
    }

    static double[] run(LinuxKernel kernel, Path prog, byte[] frame, int runs, int repeat) {
        kernel.testRun(prog, frame, repeat);   // warm-up
        double[] ns = new double[runs];
        for (int i = 0; i < runs; i++) {
            TestRun t = kernel.testRun(prog, frame, repeat);
            ns[i] = t.durationNs();
        }
        return ns;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String fmt(double[] v) {
        return String.format(Locale.ROOT, "%.1f (%.1f-%.1f)", median(v), Arrays.stream(v).min().orElse(0),
                Arrays.stream(v).max().orElse(0));
    }

    /** Ethernet + IPv4 or IPv6 + UDP to port 7001, padded to 64 bytes (IPv4) or 84 (IPv6). */
    static byte[] frame(byte[] dst) {
        boolean v6 = dst.length == 16;
        byte[] f = new byte[v6 ? 84 : 64];
        f[0] = 2;           // destination MAC 02:00:00:00:00:02, source 02:00:00:00:00:01
        f[5] = 2;
        f[6] = 2;
        f[11] = 1;
        int l3 = 14;
        if (v6) {
            f[12] = (byte) 0x86;
            f[13] = (byte) 0xdd;
            f[l3] = 0x60;
            int payload = f.length - l3 - 40;
            f[l3 + 4] = (byte) (payload >> 8);
            f[l3 + 5] = (byte) payload;
            f[l3 + 6] = 17;
            f[l3 + 7] = 64;
            f[l3 + 8] = (byte) 0xfd;
            f[l3 + 23] = 1;      // source fd00::1
            System.arraycopy(dst, 0, f, l3 + 24, 16);
            udp(f, l3 + 40, payload);
        } else {
            f[12] = 0x08;
            f[l3] = 0x45;
            int total = f.length - l3;
            f[l3 + 2] = (byte) (total >> 8);
            f[l3 + 3] = (byte) total;
            f[l3 + 8] = 64;
            f[l3 + 9] = 17;
            f[l3 + 12] = 10;     // source 10.0.0.1
            f[l3 + 15] = 1;
            System.arraycopy(dst, 0, f, l3 + 16, 4);
            int sum = 0;
            for (int i = 0; i < 20; i += 2) {
                sum += ((f[l3 + i] & 0xff) << 8) | (f[l3 + i + 1] & 0xff);
            }
            sum = (sum & 0xffff) + (sum >> 16);
            sum = ~((sum & 0xffff) + (sum >> 16)) & 0xffff;
            f[l3 + 10] = (byte) (sum >> 8);
            f[l3 + 11] = (byte) sum;
            udp(f, l3 + 20, total - 20);
        }
        return f;
    }

    static void udp(byte[] f, int at, int length) {
        f[at] = (byte) (40000 >> 8);
        f[at + 1] = (byte) 40000;
        f[at + 2] = (byte) (7001 >> 8);
        f[at + 3] = (byte) 7001;
        f[at + 4] = (byte) (length >> 8);
        f[at + 5] = (byte) length;
    }
}
