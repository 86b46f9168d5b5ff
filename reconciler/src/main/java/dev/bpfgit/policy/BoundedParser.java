package dev.bpfgit.policy;

import org.snakeyaml.engine.v2.common.Anchor;
import org.snakeyaml.engine.v2.events.AliasEvent;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.events.NodeEvent;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.parser.Parser;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The event stream between snakeyaml's parser and composer, cut short where a file exceeds the limits of
 * {@link YamlReader}. The checks sit here, before any node exists: the composer recurses once per nesting
 * level, and an alias costs nothing to compose but its whole subtree to convert, so counting events is the
 * only place where both are cheap. The size of an alias is the size of its anchor's subtree with the
 * aliases inside expanded, so nested aliases ("billion laughs") are counted as what they become. Aliases may
 * add as many nodes as the file writes out, or {@code maxAliasNodes} if that is more: a file costs at most
 * twice what it would cost without aliases, and a small file with a bomb is refused at the bomb.
 */
final class BoundedParser implements Parser {

    /** Thrown at the event that goes over a limit; the composer lets it through. */
    static final class LimitExceeded extends RuntimeException {
        final Optional<Mark> mark;

        LimitExceeded(Optional<Mark> mark, String message) {
            super(message, null, false, false);
            this.mark = mark;
        }
    }

    private final Parser parser;
    private final int maxDepth;
    private final int maxDocuments;
    private final long maxAliasNodes;

    /** The open collections: their anchor (null for none) and the count at their start; not a record per one. */
    private Anchor[] openAnchors = new Anchor[16];
    private long[] openStarts = new long[16];
    private int openCount;
    /** Expanded size of each anchored node of the current document, once it is complete. */
    private final Map<Anchor, Long> sizes = new HashMap<>();
    /** Nodes of the current document, aliases counted as what they expand to. */
    private long count;
    /** Nodes of the whole file that only exist because of aliases, and those written out. */
    private long aliasNodes;
    private long writtenNodes;
    private int documents;

    BoundedParser(Parser parser, int maxDepth, int maxDocuments, long maxAliasNodes) {
        this.parser = parser;
        this.maxDepth = maxDepth;
        this.maxDocuments = maxDocuments;
        this.maxAliasNodes = maxAliasNodes;
    }

    @Override
    public boolean checkEvent(Event.ID choice) {
        return parser.checkEvent(choice);
    }

    @Override
    public Event peekEvent() {
        return parser.peekEvent();
    }

    @Override
    public boolean hasNext() {
        return parser.hasNext();
    }

    @Override
    public Event next() {
        Event e = parser.next();
        switch (e.getEventId()) {
            case DocumentStart -> {
                if (++documents > maxDocuments) {
                    throw new LimitExceeded(e.getStartMark(), "more than " + maxDocuments
                            + " YAML documents in one file; split it into several files");
                }
                sizes.clear();
                java.util.Arrays.fill(openAnchors, 0, openCount, null);
                openCount = 0;
                count = 0;
            }
            case Scalar -> {
                count++;
                writtenNodes++;
                Optional<Anchor> anchor = anchor(e);
                if (anchor.isPresent()) {   // not ifPresent: a capturing lambda per event
                    sizes.put(anchor.get(), 1L);
                }
            }
            case SequenceStart, MappingStart -> {
                if (openCount >= maxDepth) {
                    throw new LimitExceeded(e.getStartMark(), "nested more than " + maxDepth
                            + " levels deep; a policy needs far fewer");
                }
                Optional<Anchor> anchor = anchor(e);
                // an alias inside its own anchor's node refers to this node, not to an earlier one of that name
                if (anchor.isPresent()) {
                    sizes.remove(anchor.get());
                }
                if (openCount == openStarts.length) {
                    openAnchors = java.util.Arrays.copyOf(openAnchors, openCount * 2);
                    openStarts = java.util.Arrays.copyOf(openStarts, openCount * 2);
                }
                openAnchors[openCount] = anchor.orElse(null);
                openStarts[openCount++] = count;
                count++;
                writtenNodes++;
            }
            case SequenceEnd, MappingEnd -> {
                Anchor anchor = openAnchors[--openCount];
                openAnchors[openCount] = null;
                if (anchor != null) {
                    sizes.put(anchor, count - openStarts[openCount]);
                }
            }
            case Alias -> {
                // unknown: undefined (the composer says so) or recursive (YamlToJson says so); either way 1
                long size = sizes.getOrDefault(((AliasEvent) e).getAlias(), 1L);
                count += size;
                aliasNodes += size;
                if (aliasNodes > Math.max(maxAliasNodes, writtenNodes)) {
                    throw new LimitExceeded(e.getStartMark(), "aliases expand to more than "
                            + Math.max(maxAliasNodes, writtenNodes) + " nodes in this file (" + maxAliasNodes
                            + ", or as many as the file writes out); write the values out or use fewer nested aliases");
                }
            }
            default -> {
            }
        }
        return e;
    }

    private static Optional<Anchor> anchor(Event e) {
        return e instanceof NodeEvent n && !(e instanceof AliasEvent) ? n.getAnchor() : Optional.empty();
    }

}
