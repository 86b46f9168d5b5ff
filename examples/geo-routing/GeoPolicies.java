// Turns the location database of Debian's tor-geoipdb (/usr/share/tor/geoip and geoip6: "from,to,CC"
// ranges) into TrafficPolicies that mark packets by where their address is, one policy per region (or per
// country), for `ip rule fwmark` to route each region through its own gateway. See README.md beside it.
//
//   java --source 25 examples/geo-routing/GeoPolicies.java [options] OUTDIR
//
//   --geoip FILE, --geoip6 FILE   the database (default /usr/share/tor/geoip, /usr/share/tor/geoip6)
//   --group region|country        one policy per region (default) or per country code
//   --only a,b,...                only these regions (or country codes, lower case)
//   --interface IF                default eth0
//   --hook H                      default tc-egress: the host's own traffic (on a router: tc-ingress of the
//                                 interface clients are on)
//   --match M                     default destination
//   --capacity N                  default: every generated prefix plus 5%, rounded up to 64k
//   --form list|rules             one rule with a list of prefixes per policy (default: the cheapest to read),
//                                 or one rule per prefix
//
// Prints one line per policy (name, mark, IPv4 and IPv6 prefix counts) and the routing table numbers.
// A range is split into the fewest CIDR prefixes that cover it exactly; ranges are never merged, so a
// range that moves to another country moves exactly its own prefixes.
import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

class GeoPolicies {
    // Continents of the ISO 3166 codes the database uses; anything else (?? unknown, A1/A2/AP, AQ...) is "other".
    static final Map<String, String> REGIONS = new TreeMap<>();
    static {
        region("africa", "dz ao bj bw bf bi cv cm cf td km cd cg ci dj eg gq er sz et ga gm gh gn gw ke ls lr ly mg"
                + " mw ml mr mu yt ma mz na ne ng re rw sh st sn sc sl so za ss sd tz tg tn ug eh zm zw");
        region("asia", "af am az bh bd bt bn kh cn cy ge hk in id ir iq il jp jo kz kw kg la lb mo my mv mn mm np kp"
                + " om pk ps ph qa sa sg kr lk sy tw tj th tl tr tm ae uz vn ye io");
        region("europe", "ad al at ax ba be bg by ch cz de dk ee es fi fo fr gb gg gi gr hr hu ie im is it je li lt"
                + " lu lv mc md me mk mt nl no pl pt ro rs ru se si sj sk sm ua va xk eu");
        region("north-america", "ag ai aw bb bl bm bq bs bz ca cr cu cw dm do gd gl gp gt hn ht jm kn ky lc mf mq"
                + " ms mx ni pa pm pr sv sx tc tt us vc vg vi um");
        region("oceania", "as au ck fj fm gu ki mh mp nc nf nr nu nz pf pg pn pw sb tk to tv vu wf ws");
        region("south-america", "ar bo br cl co ec fk gf gy pe py sr uy ve gs");
    }

    static void region(String name, String countries) {
        for (String c : countries.split(" ")) {
            REGIONS.put(c, name);
        }
    }

    static final List<String> REGION_ORDER = List.of("africa", "asia", "europe", "north-america", "oceania",
            "south-america", "other");

    public static void main(String[] args) throws IOException {
        Path geoip = Path.of("/usr/share/tor/geoip"), geoip6 = Path.of("/usr/share/tor/geoip6");
        String group = "region", iface = "eth0", hook = "tc-egress", match = "destination";
        Set<String> only = null;
        long capacity = 0;
        boolean lists = true;
        Path out = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--geoip" -> geoip = Path.of(args[++i]);
                case "--geoip6" -> geoip6 = Path.of(args[++i]);
                case "--group" -> group = args[++i];
                case "--only" -> only = Set.of(args[++i].split(","));
                case "--interface" -> iface = args[++i];
                case "--hook" -> hook = args[++i];
                case "--match" -> match = args[++i];
                case "--capacity" -> capacity = Long.parseLong(args[++i]);
                case "--form" -> lists = !args[++i].equals("rules");
                default -> {
                    if (args[i].startsWith("-") || out != null) {
                        System.err.println("usage: GeoPolicies.java [--geoip F] [--geoip6 F] [--group region|country]"
                                + " [--only a,b] [--interface IF] [--hook H] [--match M] [--capacity N] [--form list|rules] OUTDIR");
                        System.exit(2);
                    }
                    out = Path.of(args[i]);
                }
            }
        }
        if (out == null || !(group.equals("region") || group.equals("country"))) {
            System.err.println("GeoPolicies: OUTDIR missing, or --group is neither region nor country");
            System.exit(2);
        }
        boolean byCountry = group.equals("country");

        // group name -> prefixes ("a.b.c.d/n"), IPv4 then IPv6, in database order
        Map<String, List<String>> v4 = new TreeMap<>(), v6 = new TreeMap<>();
        read(geoip, false, byCountry, only, v4);
        read(geoip6, true, byCountry, only, v6);

        List<String> names = new ArrayList<>(byCountry ? new java.util.TreeSet<>(union(v4, v6))
                : REGION_ORDER.stream().filter(r -> v4.containsKey(r) || v6.containsKey(r)).toList());
        long total = names.stream().mapToLong(n -> size(v4, n) + size(v6, n)).sum();
        if (capacity == 0) {
            capacity = (total + total / 20 + 65535) / 65536 * 65536;
        }
        Files.createDirectories(out);
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            int mark = i + 1;
            try (Writer w = Files.newBufferedWriter(out.resolve("geo-" + n + ".yaml"))) {
                w.write("# generated by examples/geo-routing/GeoPolicies.java from " + geoip.getFileName() + " and "
                        + geoip6.getFileName()
                        + "\n# packets to " + (byCountry ? "country " : "region ") + n + " get mark " + mark
                        + "; `ip rule add fwmark " + mark + " lookup " + (100 + mark) + "` routes them\n");
                w.write("apiVersion: bpfgit.dev/v1\nkind: TrafficPolicy\nmetadata:\n  name: geo-" + n + "\nspec:\n");
                w.write("  interfaces: [" + iface + "]\n  hook: " + hook + "\n  match: " + match
                        + "\n  default: pass\n  capacity: " + capacity + "\n  rules:\n");
                List<String> all = new ArrayList<>(v4.getOrDefault(n, List.of()));
                all.addAll(v6.getOrDefault(n, List.of()));
                if (lists) {
                    w.write("    - action: mark\n      mark: " + mark + "\n      prefixes:\n");
                    for (String p : all) {
                        w.write("        - " + p + "\n");
                    }
                } else {
                    for (String p : all) {
                        w.write("    - {prefix: " + p + ", action: mark, mark: " + mark + "}\n");
                    }
                }
            }
            System.out.printf("geo-%s mark %d table %d: %d IPv4 + %d IPv6 prefixes%n", n, mark, 100 + mark,
                    size(v4, n), size(v6, n));
        }
        System.out.printf("%d policies, %d prefixes, capacity %d%n", names.size(), total, capacity);
    }

    static Set<String> union(Map<String, List<String>> a, Map<String, List<String>> b) {
        Set<String> s = new java.util.HashSet<>(a.keySet());
        s.addAll(b.keySet());
        return s;
    }

    static long size(Map<String, List<String>> m, String n) {
        return m.getOrDefault(n, List.of()).size();
    }

    /** The group of a country code: its region, or the code itself ("??" and other non-letters: "unknown"). */
    static String groupOf(String cc, boolean byCountry) {
        String c = cc.toLowerCase();
        if (byCountry) {
            return c.matches("[a-z][a-z0-9]") ? c : "unknown";
        }
        return REGIONS.getOrDefault(c, "other");
    }

    static void read(Path file, boolean v6, boolean byCountry, Set<String> only, Map<String, List<String>> out)
            throws IOException {
        Map<String, String> groups = new HashMap<>();
        try (var lines = Files.lines(file)) {
            for (var it = lines.iterator(); it.hasNext(); ) {
                String line = it.next();
                if (line.isEmpty() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split(",");
                String g = groups.computeIfAbsent(f[2], cc -> groupOf(cc, byCountry));
                if (only != null && !only.contains(g)) {
                    continue;
                }
                BigInteger from = v6 ? v6(f[0]) : new BigInteger(f[0]);
                BigInteger to = v6 ? v6(f[1]) : new BigInteger(f[1]);
                cidrs(from, to, v6 ? 128 : 32, out.computeIfAbsent(g, k -> new ArrayList<>()));
            }
        }
    }

    static BigInteger v6(String address) throws IOException {
        return new BigInteger(1, InetAddress.getByName(address).getAddress());
    }

    /** The fewest prefixes covering [from, to] exactly: at each step the largest aligned block that fits. */
    static void cidrs(BigInteger from, BigInteger to, int bits, List<String> out) throws IOException {
        while (from.compareTo(to) <= 0) {
            int size = from.signum() == 0 ? bits : from.getLowestSetBit();   // alignment of from
            size = Math.min(size, to.subtract(from).add(BigInteger.ONE).bitLength() - 1);   // fits in the rest
            out.add(format(from, bits) + "/" + (bits - size));
            from = from.add(BigInteger.ONE.shiftLeft(size));
        }
    }

    static String format(BigInteger a, int bits) throws IOException {
        byte[] raw = a.toByteArray();
        byte[] b = new byte[bits / 8];
        int n = Math.min(raw.length, b.length);
        System.arraycopy(raw, raw.length - n, b, b.length - n, n);
        String s = InetAddress.getByAddress(b).getHostAddress();
        return bits == 128 ? compress(s) : s;
    }

    /** Java prints IPv6 uncompressed (2001:db8:0:0:0:0:0:0); the longest run of zero groups becomes "::". */
    static String compress(String s) {
        String[] g = s.split(":");
        int best = -1, bestLen = 1;
        for (int i = 0; i < g.length; ) {
            int j = i;
            while (j < g.length && g[j].equals("0")) {
                j++;
            }
            if (j - i > bestLen) {
                best = i;
                bestLen = j - i;
            }
            i = j == i ? i + 1 : j;
        }
        if (best < 0) {
            return s;
        }
        return String.join(":", List.of(g).subList(0, best)) + "::"
                + String.join(":", List.of(g).subList(best + bestLen, g.length));
    }
}
