// Not a source-launcher file: it is in bpfgit's package (it calls package-private code), compiled into a jar that is
// appended to a release's classpath, so that the release's AOT cache stays in use (a class directory on the
// classpath turns it off). bench/README.md, "The cold CLI: the main thread's stages ... (wip/main17)":
//   R=<unpacked release>; cp=$(printf '%s:' $R/lib/*.jar)
//   javac -d /tmp/st -cp "${cp%:}" bench/src/stages/*.java && jar cf /tmp/st.jar -C /tmp/st .
//   nsenter --net=/run/netns/NS java <the launcher's flags> -XX:AOTCache=$R/lib/bpfgit.aot -cp "${cp%:}:/tmp/st.jar" \
//     dev.bpfgit.cli.MainStages ROOT DIR          (one cold apply of DIR, stage by stage: "STAGES name=cpu_ms/KB/wall_ms/gcs")
//     dev.bpfgit.cli.MainStages cli apply DIR ...  (the real Main; main's CPU and bytes at exit)
//     dev.bpfgit.policy.ParseStages FILE twice     (one file's parse piece by piece, three times)
package dev.bpfgit.policy;

import dev.bpfgit.kind.Kinds;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** main17's harness: one file's parse on this thread, piece by piece (CPU ms / KB). */
public final class ParseStages {
    static final com.sun.management.ThreadMXBean MX = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    static final StringBuilder OUT = new StringBuilder();
    static long cpu, bytes;

    static void start() {
        cpu = MX.getCurrentThreadCpuTime();
        bytes = MX.getCurrentThreadAllocatedBytes();
    }

    static void mark(String name) {
        long c = MX.getCurrentThreadCpuTime(), b = MX.getCurrentThreadAllocatedBytes();
        OUT.append(name).append('=').append((c - cpu) / 10_000 / 100.0).append('/').append((b - bytes) / 1024).append(' ');
        start();
    }

    public static void main(String[] args) throws Exception {
        Path f = Path.of(args[0]);
        String mode = args[1];
        PolicySchema schema = PolicySchema.get();
        Kinds kinds = Kinds.BUILT_IN;
        PolicyReader reader = new PolicyReader(schema, kinds);
        start();
        byte[] raw = Files.readAllBytes(f);
        mark("readBytes");
        String text = dev.bpfgit.source.PolicyFiles.decode(f.toString(), raw).text();
        mark("decode");
        if (mode.equals("twice")) {
            for (int round = 0; round < 3; round++) {
                YamlReader.Result r = YamlReader.read(f.toString(), text);
                mark("yaml" + round);
                for (YamlDocument d : r.documents()) {
                    if (!schema.validate(d.root(), kinds).isEmpty()) throw new IllegalStateException();
                }
                mark("schema" + round);
                List<Policy> ps = new ArrayList<>();
                for (YamlDocument d : r.documents()) {
                    ps.add(reader.read(d, e -> { throw new IllegalStateException(); }));
                }
                mark("reader" + round);
                kinds.named(ps.get(0).kind()).check(ps);
                mark("check" + round);
            }
            System.err.println("PARSE " + OUT);
            return;
        }
        if (mode.equals("drain")) {
            var p = FastYamlParser.lazy(f.toString(), text).orElseThrow();
            int n = 0;
            while (p.hasNext()) {
                p.next();
                n++;
            }
            mark("drain" + n);
        } else {
            YamlReader.Result r = YamlReader.read(f.toString(), text);
            mark("yaml");
            for (YamlDocument d : r.documents()) {
                if (!schema.validate(d.root(), kinds).isEmpty()) throw new IllegalStateException();
            }
            mark("schema");
            if (mode.equals("pieces")) {
                for (YamlDocument d : r.documents()) {
                    tools.jackson.databind.node.ObjectNode c = (tools.jackson.databind.node.ObjectNode) d.root();
                    schema.applyDefaults(c, "TrafficPolicy");
                    mark("defaults");
                    dev.bpfgit.kind.traffic.TrafficPolicyReader.read((tools.jackson.databind.node.ObjectNode) c.get("spec"), "/spec", d::error, e -> { throw new IllegalStateException(); });
                    mark("trafficRead");
                    PolicyReader.digest(c);
                    mark("digest");
                    PolicyReader.digest(c);
                    mark("digest2");
                }
                System.err.println("PARSE " + OUT);
                return;
            }
            List<Policy> ps = new ArrayList<>();
            List<PolicyError> errors = new ArrayList<>();
            for (YamlDocument d : r.documents()) {
                ps.add(reader.read(d, errors::add));
            }
            mark("reader");
            errors.addAll(kinds.named(ps.get(0).kind()).check(ps));
            mark("check");
            if (!errors.isEmpty()) throw new IllegalStateException(errors.toString());
        }
        System.err.println("PARSE " + OUT);
    }
}
