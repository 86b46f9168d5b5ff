import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassFileVersion;
import java.lang.classfile.ClassHierarchyResolver;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeTransform;
import java.lang.classfile.MethodModel;
import java.lang.classfile.MethodTransform;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Pattern;

/**
 * A copy of a jar that the JDK 25 AOT cache can hold, for the release's lib/ and ./bpfgit's cache
 * (src/build/aot-cache.sh). The JVM leaves two kinds of classes out of the cache, and loads, verifies (and
 * checks the signature of) them anew at every start:
 *
 * - classes older than class-file version 50 ("Old class has been linked"; picocli, asm and jnr-x86asm target
 *   Java 5; jnr-ffi generates libc's view with those two at every start of a kernel verb): they are
 *   verified by type inference, which the cache does not record. They are rewritten to version 50 with
 *   StackMapTable attributes. Only the version and the stack maps change: every instruction, constant and
 *   attribute is kept, and each rewritten class is checked by the class-file API's own verifier, so a class
 *   the type-checking verifier would refuse fails the build instead of a start;
 * - classes of a signed jar (JGit's jars are signed by Eclipse): the signature files (META-INF/*.SF, *.RSA,
 *   *.DSA, *.EC) are left out, and with them the manifest's per-entry digests. The JVM would otherwise also
 *   check the signature (PKCS#7, X.509, RSA) when the first class is loaded from the jar, and the digest of
 *   every class read from it: with both, a cold `validate` in a git checkout took 0.34 s more CPU than outside
 *   one (bench/README.md, "The cold CLI, sixth session"). The release's files are installed by root and
 *   checked as a whole (its tarball); the signature of one jar inside it protects nothing more.
 *
 * Every other entry of the jar is kept, in its order, with its time, and a note of the change is added.
 *
 *   java CacheableJar.java IN.jar OUT.jar [JAR...]   (JAR: read for the class hierarchy only)
 */
public final class CacheableJar {
    private static final int TARGET = ClassFile.JAVA_6_VERSION;
    private static final Pattern SIGNATURE = Pattern.compile("META-INF/[^/]+\\.(SF|RSA|DSA|EC)");

    public static void main(String[] args) throws IOException {
        Path in = Path.of(args[0]);
        Path out = Path.of(args[1]);
        int upgraded = 0;
        int unsigned = 0;
        long newest = 0;
        // the jar's own classes and those of the jars named after OUT.jar (asm-util's superclasses are asm's)
        URL[] resolve = new URL[args.length - 1];
        resolve[0] = in.toUri().toURL();
        for (int i = 2; i < args.length; i++) {
            resolve[i - 1] = Path.of(args[i]).toUri().toURL();
        }
        try (URLClassLoader jarClasses = new URLClassLoader(resolve, null);
             JarFile jar = new JarFile(in.toFile());
             OutputStream file = Files.newOutputStream(out);
             JarOutputStream to = new JarOutputStream(file)) {
            // stack maps need the common superclass of two types at a merge point: the JDK's classes, the
            // jar's own and those of the other jars named (picocli and jnr-x86asm need no other library)
            ClassFile cf = ClassFile.of(ClassFile.StackMapsOption.GENERATE_STACK_MAPS,
                    ClassFile.ClassHierarchyResolverOption.of(ClassHierarchyResolver.defaultResolver()
                            .orElse(ClassHierarchyResolver.ofResourceParsing(jarClasses))));
            for (JarEntry e : Collections.list(jar.entries())) {
                if (SIGNATURE.matcher(e.getName()).matches()) {
                    unsigned++;
                    continue;
                }
                byte[] bytes = jar.getInputStream(e).readAllBytes();
                if (e.getName().equals(JarFile.MANIFEST_NAME)) {
                    bytes = mainSection(bytes);
                }
                // META-INF/versions/*: module-info and the like, already a newer version
                if (e.getName().endsWith(".class") && !e.getName().startsWith("META-INF/")) {
                    ClassModel cm = cf.parse(bytes);
                    if (cm.majorVersion() < TARGET) {
                        bytes = upgrade(cf, cm, e.getName());
                        upgraded++;
                    }
                }
                newest = Math.max(newest, e.getTime());
                to.putNextEntry(copyOf(e));
                to.write(bytes);
                to.closeEntry();
            }
            // a modified file carries a notice that it was changed (Apache-2.0 4(b), and it is only fair)
            JarEntry notice = new JarEntry("META-INF/BPFGIT-CHANGED.txt");
            notice.setTime(newest);   // the same bytes at every build
            to.putNextEntry(notice);
            to.write(("bpfgit's build (src/build/CacheableJar.java) made this copy so that the JDK's AOT cache can"
                    + " hold its classes: " + upgraded + " class files older than class-file version " + TARGET
                    + " rewritten to version " + TARGET + " with stack maps; " + unsigned + " signature files"
                    + " and the manifest's per-entry digests left out. Nothing else was changed.\n")
                    .getBytes(StandardCharsets.UTF_8));
            to.closeEntry();
        }
        System.out.println(in.getFileName() + ": " + upgraded + " classes upgraded to class-file version " + TARGET
                + ", " + unsigned + " signature files left out");
    }

    /** The manifest's main section only: the per-entry sections of a signed jar are its entries' digests. */
    private static byte[] mainSection(byte[] manifest) throws IOException {
        Manifest m = new Manifest(new ByteArrayInputStream(manifest));
        if (m.getEntries().isEmpty()) {
            return manifest;
        }
        m.getEntries().clear();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        m.write(out);
        return out.toByteArray();
    }

    private static byte[] upgrade(ClassFile cf, ClassModel cm, String name) {
        byte[] bytes = cf.transformClass(cm, (b, el) -> {
            switch (el) {
                case ClassFileVersion v -> b.withVersion(TARGET, 0);
                // rebuilding the code (unchanged) is what makes the builder write its stack maps
                case MethodModel m -> b.transformMethod(m, MethodTransform.transformingCode(CodeTransform.ACCEPT_ALL));
                default -> b.with(el);
            }
        });
        List<VerifyError> errors = cf.verify(bytes);
        if (!errors.isEmpty()) {
            throw new IllegalStateException(name + " does not verify after the upgrade: " + errors);
        }
        return bytes;
    }

    private static JarEntry copyOf(JarEntry e) {
        JarEntry c = new JarEntry(e.getName());
        c.setTime(e.getTime());
        if (e.getComment() != null) {
            c.setComment(e.getComment());
        }
        if (e.getExtra() != null) {
            c.setExtra(e.getExtra());
        }
        return c;
    }
}
