package dev.bpfgit.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The training run of the release's AOT cache (src/build/aot-cache.sh): several command lines, separated by
 * {@code --}, in one JVM, so that the cache holds the classes of every stage a verb goes through, not only
 * those of the one verb a single training run can start with (validate parses and checks; a fleet plan also
 * compiles, diffs and renders; neither needs root or the kernel). Prints each line's exit code and fails
 * (an exception, exit 1) when one is neither 0, 1 nor 2 (2: the examples' deliberate conflicts).
 */
final class AotTraining {
    private AotTraining() {
    }

    /**
     * What every verb on the kernel does first and needs no root for: libbpf's downcall handles (made when
     * the kernel is opened: about 120 classes of the FFM linker and 300 method-handle forms) and jnr-ffi's
     * libc with its interface dump (the host facts). Best effort: a build machine without libbpf still
     * gets a cache, without these.
     */
    private static void nativeLayer() {
        try {
            dev.bpfgit.kernel.linux.LinuxKernel kernel = new dev.bpfgit.kernel.linux.LinuxKernel();
            System.out.println("native layer: uid " + dev.bpfgit.kernel.linux.Libc.geteuid() + ", "
                    + kernel.interfaces().size() + " interfaces, " + kernel.possibleCpus() + " cpus");
        } catch (RuntimeException | LinkageError e) {
            System.out.println("native layer not trained: " + e);
        }
        loadOnly();
    }

    /**
     * The classes a cold plan or apply on the kernel reads from the jars because the training cannot run them
     * (they need root, bpffs and pinned maps: observe's reads and dumps, the probes, tc, the lock's verbs): the
     * cache keeps a class the training loaded, parsed and verified, even one it never initialised. Loaded only:
     * no static initialiser runs (none of them makes a downcall here). A name that no longer exists fails the
     * training, so the list cannot rot.
     */
    private static final String[] LOAD_ONLY = {
        "dev.bpfgit.kernel.CgroupRoot", "dev.bpfgit.kernel.Feature$1",
        "dev.bpfgit.kernel.linux.Beside", "dev.bpfgit.kernel.linux.Beside$Group",
        "dev.bpfgit.kernel.linux.Fd", "dev.bpfgit.kernel.linux.Info", "dev.bpfgit.kernel.linux.LegacyTc",
        "dev.bpfgit.kernel.linux.Links", "dev.bpfgit.kernel.linux.LinuxKernel$1",
        "dev.bpfgit.kernel.linux.LinuxKernel$DumpFirst", "dev.bpfgit.kernel.linux.LinuxKernel$Dumping",
        "dev.bpfgit.kernel.linux.LinuxKernel$Listing", "dev.bpfgit.kernel.linux.MapAccess",
        "dev.bpfgit.kernel.linux.MapAccess$Batch", "dev.bpfgit.kernel.linux.MapAccess$Packed",
        "dev.bpfgit.kernel.linux.Pins", "dev.bpfgit.kernel.linux.Probes", "dev.bpfgit.kernel.linux.Probes$Once",
        "dev.bpfgit.kernel.linux.Scratch", "dev.bpfgit.kernel.linux.SplitDump",
        "dev.bpfgit.kernel.linux.SplitDump$Key", "dev.bpfgit.kernel.linux.SplitDump$Plan",
        "dev.bpfgit.kernel.linux.Structs", "dev.bpfgit.kernel.linux.XdpQuery",
        "dev.bpfgit.cli.ApplyCommand", "dev.bpfgit.cli.Confirm", "dev.bpfgit.cli.LockOption$DurationConverter",
        "dev.bpfgit.diff.RoomOrder", "dev.bpfgit.kind.egress.EgressRuntime",
        "dev.bpfgit.kind.reuseport.ReusePortRuntime", "dev.bpfgit.kind.reuseport.ReusePortRuntime$Degraded",
        "dev.bpfgit.kind.sockterm.SocketTerminationRuntime",
        // apply's lock, and the bulk check's holder (first initialised by a policy larger than the training's)
        "dev.bpfgit.kernel.linux.PinRootLock", "dev.bpfgit.kind.traffic.TrafficRuleCheck$Holder",
    };

    /**
     * Library and JDK classes a cold apply of 100,000 rules read from the jars and the JDK's image, outside the
     * cache, because the training never reaches them (-Xlog:class+load, seventeenth session): jnr-ffi's and
     * jffi's for the libc calls of the pin root's lock (on the main thread, each verified), the annotations
     * its reflection loader reads, and java.base's for observe's walk of the pins, the probes' segment var
     * handles and the dumps' confined arenas. Loaded only, like {@link #LOAD_ONLY}; a name that a newer jnr-ffi
     * or JDK no longer has is skipped (printed), not a failure: these are other projects' internals.
     */
    private static final String[] LOAD_ONLY_LIBRARIES = {
        "com.kenai.jffi.ObjectBuffer", "jnr.ffi.annotations.Direct", "jnr.ffi.annotations.In",
        "jnr.ffi.annotations.NulTerminate", "jnr.ffi.annotations.Out", "jnr.ffi.annotations.Pinned",
        "jnr.ffi.annotations.Transient", "jnr.ffi.annotations.TypeDefinition", "jnr.ffi.mapper.AbstractToNativeType",
        "jnr.ffi.mapper.ToNativeConverter$Cacheable", "jnr.ffi.mapper.ToNativeConverter$NoContext",
        "jnr.ffi.mapper.ToNativeConverter$PostInvocation", "jnr.ffi.mapper.ToNativeType$Cacheable",
        "jnr.ffi.mapper.ToNativeTypes$Cacheable", "jnr.ffi.provider.InvocationSession$PostInvoke",
        "jnr.ffi.provider.converters.CharSequenceParameterConverter", "jnr.ffi.provider.converters.StringUtil",
        "jnr.ffi.provider.jffi.BufferParameterStrategy", "jnr.ffi.provider.jffi.BufferParameterStrategy$1",
        "jnr.ffi.provider.jffi.DefaultInvokerFactory$BufferMarshaller",
        "jnr.ffi.provider.jffi.DefaultInvokerFactory$Int32Marshaller",
        "jnr.ffi.provider.jffi.DefaultInvokerFactory$Int64Marshaller",
        "jnr.ffi.provider.jffi.DefaultInvokerFactory$LongInvoker",
        "jnr.ffi.provider.jffi.DefaultInvokerFactory$LongLongConverter",
        "jnr.ffi.provider.jffi.DefaultInvokerFactory$LongResultConverter",
        "jnr.ffi.provider.jffi.DefaultInvokerFactory$PrimitiveArrayMarshaller",
        "jnr.ffi.provider.jffi.DefaultInvokerFactory$ToNativeConverterMarshaller",
        "jnr.ffi.util.AnnotationNameComparator",
        "java.lang.Deprecated", "java.lang.annotation.Documented", "java.lang.annotation.ElementType",
        "java.lang.invoke.IndirectVarHandle", "java.lang.invoke.MethodHandle$1", "java.lang.invoke.SegmentVarHandle",
        "java.lang.invoke.VarHandleSegmentAsBytes", "java.lang.invoke.VarHandleSegmentAsInts",
        "java.lang.invoke.VarHandleSegmentAsIntsAligned", "java.lang.invoke.VarHandleSegmentAsLongs",
        "java.lang.invoke.VarHandleSegmentAsLongsAligned", "java.lang.invoke.VarHandles$1",
        "java.nio.file.FileVisitResult", "java.nio.file.Files$3", "java.nio.file.attribute.FileOwnerAttributeView",
        "java.nio.file.attribute.PosixFileAttributeView", "java.nio.file.attribute.PosixFilePermission",
        "java.nio.file.attribute.PosixFilePermissions", "java.util.AbstractList$ListItr",
        "java.util.Collections$CopiesList", "java.util.concurrent.Future$State", "java.util.concurrent.FutureTask$1",
        "jdk.internal.event.Event", "jdk.internal.event.SecurityProviderServiceEvent",
        "jdk.internal.foreign.ConfinedSession", "jdk.internal.foreign.ConfinedSession$ConfinedResourceList",
        "jdk.internal.foreign.MemorySessionImpl$ResourceList", "jdk.internal.foreign.SegmentBulkOperations",
        "jdk.internal.foreign.SegmentFactories$1", "jdk.internal.foreign.SharedSession$SharedResourceList",
        "jdk.internal.foreign.StringSupport", "jdk.internal.foreign.StringSupport$CharsetKind",
        "jdk.internal.foreign.Utils$1VarHandleCache", "jdk.internal.foreign.abi.AbstractLinker$UpcallStubFactory",
        "jdk.internal.foreign.layout.PaddingLayoutImpl", "jdk.internal.util.Architecture",
        "sun.nio.cs.StandardCharsets$Aliases", "sun.nio.cs.StandardCharsets$Cache",
        "sun.nio.fs.AbstractBasicFileAttributeView$AttributesBuilder", "sun.nio.fs.UnixFileAttributeViews$Posix",
        "sun.nio.fs.UnixFileAttributeViews$Unix", "sun.util.PreHashedMap",
    };

    private static void loadOnly() {
        ClassLoader loader = AotTraining.class.getClassLoader();
        for (String name : LOAD_ONLY) {
            try {
                Class.forName(name, false, loader);
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException("AotTraining.LOAD_ONLY names a class that is gone: " + name, e);
            }
        }
        int loaded = 0;
        for (String name : LOAD_ONLY_LIBRARIES) {
            try {
                Class.forName(name, false, loader);
                loaded++;
            } catch (ClassNotFoundException e) {
                System.out.println("not loaded for the cache (gone from this jnr-ffi or JDK): " + name);
            }
        }
        System.out.println("loaded for the cache: " + LOAD_ONLY.length + " classes of the kernel verbs, " + loaded
                + " of the libraries and the JDK");
    }

    /**
     * The threads {@link Main#main} starts before the verb (main itself is not trained): their lambdas are then
     * in the cache, not spun at every start. Joined, so that the cache is not written while they run.
     */
    private static void aheadThreads() {
        try {
            Main.initSchemaAhead().join();
            Main.initNativeAhead().join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while training the threads started ahead", e);
        }
    }

    public static void main(String[] args) {
        List<List<String>> lines = new ArrayList<>();
        List<String> line = new ArrayList<>();
        for (String a : args) {
            if (a.equals("--")) {
                lines.add(line);
                line = new ArrayList<>();
            } else {
                line.add(a);
            }
        }
        lines.add(line);
        // apply's command line, which the training cannot run (root): its classes and model come from the cache
        lines.add(List.of("apply", "--help"));
        int worst = 0;
        for (List<String> l : lines) {
            StringWriter out = new StringWriter();
            int rc = Main.execute(new PrintWriter(out), new PrintWriter(out), l.toArray(String[]::new));
            System.out.println("bpfgit " + String.join(" ", l) + ": exit " + rc);
            System.out.print(out);
            worst = Math.max(worst, rc);
        }
        aheadThreads();
        nativeLayer();
        if (worst > 2) {
            throw new IllegalStateException("a training command line failed (exit " + worst + ")");
        }
    }

}
