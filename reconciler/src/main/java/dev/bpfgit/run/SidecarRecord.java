package dev.bpfgit.run;

import dev.bpfgit.kernel.Entry;
import dev.bpfgit.kernel.Kernel;
import dev.bpfgit.observe.Meta;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The sidecar's view of its source, kept in the pin root's bookkeeping map under {@code sidecar/} so that
 * {@code bpfgit status} shows it (diff never deletes these keys). Written only when a value changes.
 */
final class SidecarRecord {
    static final String PREFIX = Meta.SIDECAR;
    /** {@code describe()} of the source. */
    static final String SOURCE = PREFIX + "source";
    /** The source's head token when last checked (a commit id for git). */
    static final String HEAD = PREFIX + "head";
    /** The revision last read from the source, good or not. */
    static final String REVISION = PREFIX + "revision";
    /** ok | invalid | refused | unreachable. */
    static final String STATE = PREFIX + "state";
    /** The first error of that revision, {@code file:line:column: ...}, with "(and N more)". */
    static final String ERROR = PREFIX + "error";
    /** When the state began (ISO-8601). */
    static final String SINCE = PREFIX + "since";
    /** When the source was last reached. */
    static final String FETCHED = PREFIX + "fetched";

    private static final Logger LOG = LoggerFactory.getLogger(SidecarRecord.class);
    private final Kernel kernel;
    private final Path root;
    private final Map<String, String> written = new HashMap<>();
    private long mapId = -1;

    SidecarRecord(Kernel kernel, Path root) {
        this.kernel = kernel;
        this.root = root;
    }

    /** Writes the values that differ from what this process last wrote; best effort (status only). */
    void write(Map<String, String> values) {
        try {
            Path pin = Meta.pin(root);
            var info = kernel.mapInfo(pin);
            if (info.isEmpty()) {
                kernel.makeDirs(root);
                kernel.createMap(pin, Meta.spec());
                info = kernel.mapInfo(pin);
            }
            if (info.isPresent() && info.get().id() != mapId) {
                written.clear();   // a new map (destroy, then an apply): nothing of ours is in it
                mapId = info.get().id();
            }
            List<Entry> changed = new ArrayList<>();
            Map<String, String> fitted = new HashMap<>();
            values.forEach((k, v) -> {
                String fk = fit(k, Meta.KEY_SIZE - 1);
                String fv = fit(v, Meta.VALUE_SIZE - 1);
                if (!fv.equals(written.get(fk))) {
                    changed.add(new Entry(Meta.encodeKey(fk), Meta.encodeValue(fv)));
                    fitted.put(fk, fv);
                }
            });
            if (!changed.isEmpty()) {
                kernel.update(pin, changed);
                written.putAll(fitted);
            }
        } catch (RuntimeException e) {
            LOG.warn("recording the sidecar's state for status: {}", e.getMessage());
        }
    }

    /** At most {@code max} bytes of UTF-8, cut at a character boundary, "..." marking a cut. */
    static String fit(String s, int max) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= max) {
            return s;
        }
        int n = max - 3;
        while (n > 0 && (b[n] & 0xC0) == 0x80) {
            n--;
        }
        return new String(b, 0, n, StandardCharsets.UTF_8) + "...";
    }
}
