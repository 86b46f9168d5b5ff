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

/**
 * Rewrites the class files of a jar compiled for Java 5 or older (picocli targets Java 5) to class-file
 * version 50 with StackMapTable attributes, so that the JDK 25 AOT cache can hold them: the JVM leaves out
 * of the cache every class older than version 50 ("Old class has been linked"), because such a class is
 * verified by type inference, which the cache does not record. Outside the cache, picocli's 180 classes are
 * parsed and verified anew at every start (about 60 ms of CPU of a cold `validate`, bench/README.md).
 *
 * Only the version and the stack maps change: every instruction, constant, attribute and entry of the jar
 * (in its order, with its time) is kept, and each rewritten class is checked by the class-file API's own
 * verifier, so a class the type-checking verifier would refuse fails the build instead of a start. Run by
 * src/build/aot-cache.sh with the JDK that builds bpfgit:
 *
 *   java ClassFileUpgrade.java IN.jar OUT.jar
 */
public final class ClassFileUpgrade {
    private static final int TARGET = ClassFile.JAVA_6_VERSION;

    public static void main(String[] args) throws IOException {
        Path in = Path.of(args[0]);
        Path out = Path.of(args[1]);
        int upgraded = 0;
        try (URLClassLoader jarClasses = new URLClassLoader(new URL[]{in.toUri().toURL()}, null);
             JarFile jar = new JarFile(in.toFile());
             OutputStream file = Files.newOutputStream(out);
             JarOutputStream to = new JarOutputStream(file)) {
            // stack maps need the common superclass of two types at a merge point: the JDK's classes and the
            // jar's own (picocli needs no other library)
            ClassFile cf = ClassFile.of(ClassFile.StackMapsOption.GENERATE_STACK_MAPS,
                    ClassFile.ClassHierarchyResolverOption.of(ClassHierarchyResolver.defaultResolver()
                            .orElse(ClassHierarchyResolver.ofResourceParsing(jarClasses))));
            for (JarEntry e : Collections.list(jar.entries())) {
                byte[] bytes = jar.getInputStream(e).readAllBytes();
                // META-INF/versions/*: module-info and the like, already a newer version
                if (e.getName().endsWith(".class") && !e.getName().startsWith("META-INF/")) {
                    ClassModel cm = cf.parse(bytes);
                    if (cm.majorVersion() < TARGET) {
                        bytes = upgrade(cf, cm, e.getName());
                        upgraded++;
                    }
                }
                to.putNextEntry(copyOf(e));
                to.write(bytes);
                to.closeEntry();
            }
            if (upgraded > 0) {
                // Apache-2.0 4(b): a modified file carries a notice that it was changed
                JarEntry notice = new JarEntry("META-INF/BPFGIT-UPGRADED.txt");
                to.putNextEntry(notice);
                to.write(("bpfgit's build (src/build/ClassFileUpgrade.java) rewrote the " + upgraded
                        + " class files of this jar older than class-file version " + TARGET + " to version "
                        + TARGET + " with stack maps, so that the JDK's AOT cache can hold them. Nothing else"
                        + " was changed.\n").getBytes(StandardCharsets.UTF_8));
                to.closeEntry();
            }
        }
        System.out.println(in.getFileName() + ": " + upgraded + " classes upgraded to class-file version " + TARGET);
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
