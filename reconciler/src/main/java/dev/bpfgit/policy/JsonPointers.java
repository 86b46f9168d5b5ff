package dev.bpfgit.policy;

/** RFC 6901 JSON pointer segments: the same escaping as the schema validator's instance locations. */
public final class JsonPointers {
    private JsonPointers() {
    }

    public static String child(String parent, String name) {
        return parent + "/" + name.replace("~", "~0").replace("/", "~1");
    }

    public static String child(String parent, int index) {
        return parent + "/" + index;
    }

    /** The pointer without its last segment ({@code ""} stays {@code ""}). */
    public static String parent(String pointer) {
        int slash = pointer.lastIndexOf('/');
        return slash < 0 ? "" : pointer.substring(0, slash);
    }
}
