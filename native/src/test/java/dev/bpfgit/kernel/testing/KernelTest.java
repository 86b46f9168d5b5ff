package dev.bpfgit.kernel.testing;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A test against the real kernel: tagged {@code kernel} (surefire leaves it out, failsafe runs it) and
 * guarded by {@link RequiresKernel}, which skips it where the kernel is not usable, or fails it when the
 * build says {@code -Dbpfgit.kernel=required}.
 */
@Target({ElementType.TYPE, ElementType.METHOD, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Tag("kernel")
@ExtendWith(RequiresKernel.class)
public @interface KernelTest {
}
