package dev.bpfgit.source;

/**
 * A source whose {@link PolicySource#read} waits for quiet after reading (a directory: file-system events that
 * arrive during or just after the read mean a write in progress). The wait can be overlapped with the caller's
 * own work: {@link #readEarly} reads at once, and the caller asks {@link Early#settled} before it acts on what it
 * read. Anything the early snapshot led to is dropped when it was not settled; the caller then reads again with
 * {@link PolicySource#read}, which settles as before.
 */
public interface SettlingSource extends PolicySource {

    /**
     * The files as they are now, without waiting for quiet.
     *
     * @throws SourceException as {@link #read}; {@link InvalidFilesException} included, which the caller takes
     *                         as final only from {@link #read} (a file may be refused only because it is half-written)
     */
    Early readEarly(String head);

    /**
     * A read not yet known to be settled.
     *
     * @param check waits for what remains of the quiet time after the read (none when the caller's work took
     *              longer), then says whether the snapshot is what {@link #read} would have returned: no event since
     *              the read began, and no file empty
     */
    record Early(Snapshot snapshot, java.util.function.BooleanSupplier check) {
        public boolean settled() {
            return check.getAsBoolean();
        }
    }
}
