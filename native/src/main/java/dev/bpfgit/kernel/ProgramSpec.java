package dev.bpfgit.kernel;

import java.nio.file.Path;
import java.util.Map;

/**
 * One program of an object file, to be loaded with the object's maps bound to existing pinned maps.
 *
 * @param program the function name in the object (e.g. {@code traffic_xdp})
 * @param maps    every map the object declares, by its name in the object, to the pin of the map to use.
 *                Loading fails when the object declares a map that is not listed here: bpfgit never lets
 *                libbpf create an unpinned map behind its back.
 */
public record ProgramSpec(ObjectFile object, String program, Map<String, Path> maps) {
    public ProgramSpec {
        maps = Map.copyOf(maps);
    }

    /** The identity stored with the pin: object digest and program name. */
    public String identity() {
        return object.sha256() + ":" + program;
    }
}
