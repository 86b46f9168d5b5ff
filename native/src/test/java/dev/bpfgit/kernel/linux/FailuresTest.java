package dev.bpfgit.kernel.linux;

import dev.bpfgit.kernel.KernelException;
import org.junit.jupiter.api.Test;

import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FailuresTest {

    @Test
    void negativeReturnsBecomeTypedExceptions() {
        assertEquals(5, Failures.check(5, "pin map", "/x"));
        KernelException e = assertThrows(KernelException.AlreadyExists.class,
                () -> Failures.check(-17, "pin map", Path.of("/sys/fs/bpf/bpfgit/traffic/eth0/xdp/rules_v4")));
        assertEquals("pin map /sys/fs/bpf/bpfgit/traffic/eth0/xdp/rules_v4: EEXIST (File exists)", e.getMessage());
        KernelException unsupported = assertThrows(KernelException.NotSupported.class,
                () -> Failures.check(-524, "delete batch", "/m"));
        assertEquals("ENOTSUPP", unsupported.errno().name());
        // XDP on a veth whose MTU is too large for a program without frags
        assertEquals("attach eth0 xdp /l: ERANGE (Numerical result out of range)",
                assertThrows(KernelException.class, () -> Failures.check(-34, "attach eth0 xdp", "/l")).getMessage());
    }

    @Test
    void nioFailuresKeepTheirErrno() {
        Path p = Path.of("/sys/fs/bpf/x");
        assertEquals("ENOTEMPTY", Failures.io("unpin", p, new DirectoryNotEmptyException(p.toString())).errno().name());
        KernelException busy = Failures.io("rename pin", p, new FileSystemException(p.toString(), null,
                "Device or resource busy"));
        assertInstanceOf(KernelException.Busy.class, busy);
        assertEquals("rename pin /sys/fs/bpf/x: EBUSY (Device or resource busy)", busy.getMessage());
        KernelException odd = Failures.io("unpin", p, new FileSystemException(p.toString(), null, "Something new"));
        assertEquals("EIO", odd.errno().name());
    }
}
