package dev.bpfgit.observe;

import dev.bpfgit.kernel.AttachPoint;
import dev.bpfgit.kernel.Bytes;
import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.kernel.KernelException;
import dev.bpfgit.kernel.MapSpec;
import dev.bpfgit.kernel.MapType;
import dev.bpfgit.state.MemoryKernel;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Observe reads the interfaces and the attach points while the pins' reads it started run (Kernel.startReadPins):
 * the same live state as reading them one after the other, and failures reported in that order.
 */
class ObserverOverlapTest {
    private static final Path ROOT = Path.of("/sys/fs/bpf/observer-overlap");
    private static final List<AttachPoint> POINTS = List.of(new AttachPoint.Xdp("eth0"));

    private final MemoryKernel memory = new MemoryKernel(Map.of("eth0", 2, "lo", 1), 2);
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    ObserverOverlapTest() {
        memory.makeDirs(ROOT.resolve("u"));
        memory.createMap(ROOT.resolve("u/m"), new MapSpec("m", MapType.HASH, 4, 4, 16, 0, Optional.empty()));
        memory.update(ROOT.resolve("u/m"), List.of(new Entry(Bytes.wrap(new byte[]{1, 0, 0, 0}),
                Bytes.wrap(new byte[]{2, 0, 0, 0}))));
    }

    /** The kernel with startReadPins left pending until awaited, every call logged; failing as asked. */
    private Kernel kernel(RuntimeException pinsFail, RuntimeException interfacesFail) {
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[]{Kernel.class},
                (proxy, method, args) -> {
                    log.add(method.getName());
                    if (method.getName().equals("startReadPins")) {
                        Kernel.PendingReads real = memory.startReadPins((Path) args[0], cast(args[1]));
                        return (Kernel.PendingReads) () -> {
                            log.add("await");
                            if (pinsFail != null) {
                                throw pinsFail;
                            }
                            return real.await();
                        };
                    }
                    if (method.getName().equals("interfaces") && interfacesFail != null) {
                        throw interfacesFail;
                    }
                    try {
                        return method.invoke(memory, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }

    @SuppressWarnings("unchecked")
    private static java.util.function.BiPredicate<Path, dev.bpfgit.kernel.MapInfo> cast(Object o) {
        return (java.util.function.BiPredicate<Path, dev.bpfgit.kernel.MapInfo>) o;
    }

    @Test
    void theSameLiveStateAsReadingOneAfterTheOther() {
        LiveState overlapped = Observer.observe(kernel(null, null), ROOT, POINTS);
        assertEquals(List.of("startReadPins", "interfaces", "attached", "await"), log);
        Kernel.PinReads pins = memory.readPins(ROOT, (p, i) -> true);
        assertEquals(1, pins.pins().size());
        LiveState sequential = Observer.atPoints(Observer.observe(memory, ROOT, List.of()), memory, POINTS);
        assertEquals(sequential.maps(), overlapped.maps());
        assertEquals(sequential.interfaces(), overlapped.interfaces());
        assertEquals(sequential.attached(), overlapped.attached());
        assertEquals(sequential.dirs(), overlapped.dirs());
        assertEquals(Map.of("eth0", 2, "lo", 1), overlapped.interfaces());
    }

    @Test
    void aFailedReadOfThePinsIsReportedBeforeAFailedReadOfTheInterfaces() {
        KernelException pins = KernelException.of("dump map", ROOT.resolve("u/m").toString(), 12);
        KernelException ifs = KernelException.of("list interfaces", "if_nameindex", 24);
        assertSame(pins, assertThrows(KernelException.class, () -> Observer.observe(kernel(pins, ifs), ROOT, POINTS)));
        assertEquals(List.of("startReadPins", "interfaces", "await"), log);
    }

    @Test
    void aFailedReadOfTheInterfacesWaitsForThePins() {
        KernelException ifs = KernelException.of("list interfaces", "if_nameindex", 24);
        assertSame(ifs, assertThrows(KernelException.class, () -> Observer.observe(kernel(null, ifs), ROOT, POINTS)));
        assertEquals(List.of("startReadPins", "interfaces", "await"), log);
    }

    @Test
    void aFailedReadOfThePinsAlone() {
        KernelException pins = KernelException.of("dump map", ROOT.resolve("u/m").toString(), 12);
        assertSame(pins, assertThrows(KernelException.class, () -> Observer.observe(kernel(pins, null), ROOT, POINTS)));
        assertEquals(List.of("startReadPins", "interfaces", "attached", "await"), log);
    }
}
