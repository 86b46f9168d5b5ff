package dev.bpfgit.policy;

import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.common.ScalarStyle;
import org.snakeyaml.engine.v2.events.DocumentEndEvent;
import org.snakeyaml.engine.v2.events.DocumentStartEvent;
import org.snakeyaml.engine.v2.events.Event;
import org.snakeyaml.engine.v2.events.ImplicitTuple;
import org.snakeyaml.engine.v2.events.MappingEndEvent;
import org.snakeyaml.engine.v2.events.MappingStartEvent;
import org.snakeyaml.engine.v2.events.ScalarEvent;
import org.snakeyaml.engine.v2.events.SequenceEndEvent;
import org.snakeyaml.engine.v2.events.SequenceStartEvent;
import org.snakeyaml.engine.v2.events.StreamEndEvent;
import org.snakeyaml.engine.v2.events.StreamStartEvent;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.parser.Parser;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.NoSuchElementException;
import java.util.Optional;

/**
 * The events snakeyaml-engine's {@code ParserImpl} produces, for the small part of YAML that policy files are
 * written in, at a fraction of its cost (issue 10: its scanner and parser were most of a 100,000-rule load).
 * <p>
 * Accepted: block mappings and sequences indented with spaces (compact {@code - key: value} entries, sequences
 * as a key's value at the key's own indentation), flow mappings and sequences that open and close on one line,
 * plain, single- and double-quoted scalars on one line, comments, blank lines, {@code ---} and {@code ...}.
 * Anything else, and anything unsure (anchors, aliases, tags, block scalars, a scalar over several lines, an
 * escape other than {@code \\ \" \/ \n \t}, directives, {@code ?} keys, tabs, carriage returns, a BOM,
 * control or unusual characters, a document whose root is not at column 1, a syntax error) makes
 * {@link #of} decline the whole file: snakeyaml then reads it, and stays the reference for every error, its
 * message and its position. {@code FastYamlParserTest} compares both parsers' events on the repository's
 * files, generated documents and their mutations.
 * <p>
 * {@link #of} checks the file in a first pass that builds nothing, then makes the events one line at a time as
 * they are pulled; {@link #lazy} (the readers') only makes them, and throws where the file leaves the subset.
 * Only each document's first node carries a start mark (a document's own position); every other position
 * comes from reading the file again with snakeyaml when it is asked for ({@link LazyLocations}).
 */
final class FastYamlParser implements Parser {

    /** Thrown where the file leaves the subset: the whole file goes to snakeyaml. */
    private static final class Decline extends RuntimeException {
        Decline() {
            super(null, null, false, false);
        }
    }

    private static final Decline DECLINE = new Decline();
    private static final ImplicitTuple PLAIN = new ImplicitTuple(true, false);
    private static final ImplicitTuple QUOTED = new ImplicitTuple(false, true);
    /**
     * Events without a mark are values: the same ones serve every collection's start and end (a 100,000-rule
     * file made 200,000 of each otherwise).
     */
    private static final MappingEndEvent MAPPING_END = new MappingEndEvent();
    private static final SequenceEndEvent SEQUENCE_END = new SequenceEndEvent();
    private static final MappingStartEvent BLOCK_MAPPING = new MappingStartEvent(Optional.empty(), Optional.empty(),
            true, FlowStyle.BLOCK, Optional.empty(), Optional.empty());
    private static final MappingStartEvent FLOW_MAPPING = new MappingStartEvent(Optional.empty(), Optional.empty(),
            true, FlowStyle.FLOW, Optional.empty(), Optional.empty());
    private static final SequenceStartEvent BLOCK_SEQUENCE = new SequenceStartEvent(Optional.empty(),
            Optional.empty(), true, FlowStyle.BLOCK, Optional.empty(), Optional.empty());
    private static final SequenceStartEvent FLOW_SEQUENCE = new SequenceStartEvent(Optional.empty(),
            Optional.empty(), true, FlowStyle.FLOW, Optional.empty(), Optional.empty());
    private static final int[] NO_BUFFER = new int[0];
    private static final byte MAP = 1, SEQ = 2;
    /** snakeyaml forgets a possible key 1024 characters after its start; shorter ones only. */
    private static final int MAX_KEY = 1000;

    /**
     * The indicators a plain scalar may not start with (some of them only before a space), by char: a table,
     * not {@code String.indexOf} over them, which C1 compiles as a loop and every scalar of a file ran.
     */
    private static final boolean[] INDICATOR = new boolean[128];

    static {
        for (char c : "-?:,[]{}#&*!|>'\"%@`".toCharArray()) {
            INDICATOR[c] = true;
        }
    }

    /** The events of a file inside the subset, or empty: read it with snakeyaml. */
    static Optional<Parser> of(String file, String text) {
        if (!plainText(text)) {
            return Optional.empty();
        }
        try {
            FastYamlParser check = new FastYamlParser(file, text, false);
            while (!check.finished) {
                check.step();
            }
        } catch (RuntimeException e) {
            // a Decline; anything else would be this reader's mistake, and snakeyaml is the reference
            return Optional.empty();
        }
        return Optional.of(new FastYamlParser(file, text, true));
    }

    /**
     * As {@link #of}, without its first pass: the events of a file, its characters and lines checked against
     * the subset as they are made. Where the file leaves the subset, pulling the next event throws a
     * {@code RuntimeException} (never a snakeyaml exception), after the events of the lines before it; the
     * caller then drops what it read and reads the file with snakeyaml, as for an empty {@link #of}. A file
     * {@link #of} accepts gives the same events, and one it declines throws before its stream ends
     * ({@code FastYamlParserTest}); the check was one more pass over every line of every file, for the rare
     * file it declines.
     */
    static Optional<Parser> lazy(String file, String text) {
        // its characters are checked line by line as step finds each line's end, not in a pass of their own
        // before the first event: the same characters decline the file, on the way
        if (!shortText(text) || PLAIN_PASS && !plainCharacters(text)) {
            return Optional.empty();
        }
        return Optional.of(new FastYamlParser(file, text, true));
    }

    /** {@code -Dbpfgit.yamlPlainPass=true}: {@link #lazy} checks the characters first, as before (to measure). */
    private static final boolean PLAIN_PASS = Boolean.getBoolean("bpfgit.yamlPlainPass");

    private static boolean plainText(String text) {
        return shortText(text) && plainCharacters(text);
    }

    private static boolean shortText(String text) {
        // near snakeyaml's code point limit, it says where the limit is (it counts as it reads, in chunks)
        return text.length() <= YamlReader.MAX_CODE_POINTS - 65_536;
    }

    /**
     * Printable characters without tab, carriage return, NEL, line or paragraph separators, a BOM,
     * surrogates or non-characters: whatever snakeyaml makes of those is left to it.
     */
    private static boolean plainCharacters(String text) {
        for (int i = 0, n = text.length(); i < n; i++) {
            if (notPlain(text.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    private static boolean notPlain(char c) {
        return c < 0x20 ? c != '\n' : c >= 0x7f && (c < 0xa0 || c >= 0xd800 && c < 0xe000 || c > 0xfffd
                || c == 0xfeff || c == 0x2028 || c == 0x2029);
    }

    private final String file;
    private final String s;
    private final boolean emit;
    private final ArrayDeque<Event> queue = new ArrayDeque<>();
    private boolean finished;

    /** Start of the next line, its number (from 0), and the line being read. */
    private int pos;
    private int lineNumber;
    private int lineStart, lineEnd;

    /** Open block collections: kind, indentation, a key or "-" still waiting for its value, indentless. */
    private byte[] kinds = new byte[16];
    private int[] indents = new int[16];
    private boolean[] pending = new boolean[16];
    private boolean[] indentless = new boolean[16];
    private int depth;

    private boolean inDocument, anyDocument, rootStarted, rootMarked;
    private int documents;
    private Optional<Mark> lastMark = Optional.empty();

    private FastYamlParser(String file, String text, boolean emit) {
        this.file = file;
        this.s = text;
        this.emit = emit;
        add(new StreamStartEvent());
    }

    @Override
    public boolean checkEvent(Event.ID choice) {
        Event e = peekEvent();
        return e != null && e.getEventId() == choice;
    }

    @Override
    public Event peekEvent() {
        fill();
        return queue.peek();
    }

    @Override
    public Event next() {
        fill();
        Event e = queue.poll();
        if (e == null) {
            throw new NoSuchElementException("No more Events found.");
        }
        return e;
    }

    @Override
    public boolean hasNext() {
        fill();
        return !queue.isEmpty();
    }

    private void fill() {
        while (queue.isEmpty() && !finished) {
            step();
        }
    }

    private void add(Event e) {
        if (emit) {
            queue.add(e);
        }
    }

    /** One line, or the end of the stream. */
    private void step() {
        int n = s.length();
        if (pos >= n) {
            endDocument(false);
            add(new StreamEndEvent());
            finished = true;
            return;
        }
        // the line's end, and its characters checked on the way: one pass where String.indexOf and
        // plainCharacters were two (C1 compiles neither into more than a loop over the characters). ' ' to '~'
        // are plain, and one unsigned compare tells them from the rest ('\n', and whatever notPlain decides)
        int eol = pos;
        while (eol < n) {
            char c = s.charAt(eol);
            if ((char) (c - 0x20) >= 0x5f) {
                if (c == '\n') {
                    break;
                }
                if (notPlain(c)) {
                    throw DECLINE;
                }
            }
            eol++;
        }
        lineStart = pos;
        lineEnd = eol;
        pos = eol < n ? eol + 1 : n;
        try {
            line();
        } finally {
            lineNumber++;
        }
    }

    private char ch(int i) {
        return i < lineEnd ? s.charAt(i) : '\n';
    }

    private void line() {
        int i = lineStart;
        while (i < lineEnd && s.charAt(i) == ' ') {
            i++;
        }
        if (i == lineEnd || s.charAt(i) == '#') {
            return;   // blank or a comment
        }
        int indent = i - lineStart;
        if (indent == 0 && (s.startsWith("---", i) || s.startsWith("...", i))) {
            char after = ch(i + 3);
            if (after != ' ' && after != '\n') {
                throw DECLINE;
            }
            tail(i + 3, true);
            if (s.charAt(i) == '-') {
                endDocument(false);
                startDocument(true);
            } else if (inDocument) {
                endDocument(true);
            } else if (!anyDocument) {
                throw DECLINE;   // "..." before any document: left to snakeyaml
            }
            return;
        }
        boolean entry = entry(i);
        close(indent, entry);
        if (depth == 0) {
            if (!inDocument) {
                if (anyDocument) {
                    throw DECLINE;   // a second document without "---"
                }
                startDocument(false);
            }
            if (rootStarted || indent != 0) {
                throw DECLINE;
            }
            rootStarted = true;
            node(i);
            return;
        }
        int top = depth - 1;
        if (pending[top]) {
            pending[top] = false;
            node(i);
        } else if (kinds[top] == SEQ) {
            if (!entry) {
                throw DECLINE;
            }
            entry(i, top);
        } else {
            int colon = key(i);
            if (colon < 0) {
                throw DECLINE;
            }
            keyValue(i, colon);
        }
    }

    private boolean entry(int i) {
        return s.charAt(i) == '-' && (i + 1 == lineEnd || s.charAt(i + 1) == ' ');
    }

    /** Ends the collections a line at this indentation leaves, and the values it shows are empty. */
    private void close(int indent, boolean entry) {
        while (depth > 0) {
            int t = depth - 1;
            if (pending[t]) {
                if (indent > indents[t] || kinds[t] == MAP && indent == indents[t] && entry) {
                    return;
                }
                empty();
                pending[t] = false;
                continue;
            }
            if (indent < indents[t] || indentless[t] && indent == indents[t] && !entry) {
                end();
                continue;
            }
            if (indent > indents[t]) {
                throw DECLINE;   // more of a scalar over several lines, or a mistake
            }
            return;
        }
    }

    private void push(byte kind, int indent, boolean withoutIndent) {
        if (depth == kinds.length) {
            kinds = java.util.Arrays.copyOf(kinds, depth * 2);
            indents = java.util.Arrays.copyOf(indents, depth * 2);
            pending = java.util.Arrays.copyOf(pending, depth * 2);
            indentless = java.util.Arrays.copyOf(indentless, depth * 2);
        }
        kinds[depth] = kind;
        indents[depth] = indent;
        pending[depth] = false;
        indentless[depth] = withoutIndent;
        depth++;
        if (depth > YamlReader.MAX_DEPTH) {
            throw DECLINE;   // BoundedParser's limit, reported by snakeyaml's reading
        }
    }

    private void end() {
        depth--;
        add(kinds[depth] == MAP ? MAPPING_END : SEQUENCE_END);
    }

    private void empty() {
        add(new ScalarEvent(Optional.empty(), Optional.empty(), PLAIN, "", ScalarStyle.PLAIN));
    }

    private void startDocument(boolean explicit) {
        if (++documents > YamlReader.MAX_DOCUMENTS) {
            throw DECLINE;
        }
        add(new DocumentStartEvent(explicit, Optional.empty(), Collections.emptyMap()));
        inDocument = true;
        anyDocument = true;
        rootStarted = false;
        rootMarked = false;
    }

    private void endDocument(boolean explicit) {
        if (!inDocument) {
            return;
        }
        close(-1, false);
        if (!rootStarted) {
            empty();
        }
        add(new DocumentEndEvent(explicit));
        inDocument = false;
    }

    /** The first node of a document carries its start: where the document is. */
    private Optional<Mark> mark(int i) {
        if (rootMarked || !emit) {
            lastMark = Optional.empty();
            return lastMark;
        }
        rootMarked = true;
        lastMark = Optional.of(new Mark(file, i, lineNumber, i - lineStart, NO_BUFFER, 0));
        return lastMark;
    }

    /** The end of the event just marked: the same place, as snakeyaml wants both or neither. */
    private Optional<Mark> sameMark() {
        return lastMark;
    }

    /** A node in block context starting at i: a sequence, a mapping, or a value that ends the line. */
    private void node(int i) {
        int column = i - lineStart;
        if (entry(i)) {
            boolean withoutIndent = depth > 0 && kinds[depth - 1] == MAP && indents[depth - 1] == column;
            Optional<Mark> at = mark(i);
            push(SEQ, column, withoutIndent);
            add(at.isEmpty() ? BLOCK_SEQUENCE
                    : new SequenceStartEvent(Optional.empty(), Optional.empty(), true, FlowStyle.BLOCK, at, at));
            entry(i, depth - 1);
            return;
        }
        int colon = key(i);
        if (colon >= 0) {
            Optional<Mark> at = mark(i);
            push(MAP, column, false);
            add(at.isEmpty() ? BLOCK_MAPPING
                    : new MappingStartEvent(Optional.empty(), Optional.empty(), true, FlowStyle.BLOCK, at, at));
            keyValue(i, colon);
            return;
        }
        tail(value(i), false);
    }

    /** "-" at i, of the sequence at {@code top}: its value follows on this line or the next ones. */
    private void entry(int i, int top) {
        int j = i + 1;
        while (j < lineEnd && s.charAt(j) == ' ') {
            j++;
        }
        if (j == lineEnd || s.charAt(j) == '#') {
            pending[top] = true;
            return;
        }
        node(j);
    }

    /** A key from i to the ':' at colon, then its value on this line or the next ones. */
    private void keyValue(int i, int colon) {
        char c = s.charAt(i);
        if (c == '"') {
            doubleQuoted(i);
        } else if (c == '\'') {
            singleQuoted(i);
        } else {
            plain(i, trimEnd(i, colon));
        }
        int top = depth - 1;
        int j = colon + 1;
        while (j < lineEnd && s.charAt(j) == ' ') {
            j++;
        }
        if (j == lineEnd || s.charAt(j) == '#') {
            pending[top] = true;
            return;
        }
        tail(value(j), false);
    }

    /**
     * The ':' after a key that starts at i and ends on this line ("key: ", "key:" at the end, a quoted key
     * followed directly by ':'), or -1 when the line holds no key there.
     */
    private int key(int i) {
        char c = s.charAt(i);
        int end;
        if (c == '"' || c == '\'') {
            end = c == '"' ? skipDoubleQuoted(i) : skipSingleQuoted(i);
            if (ch(end) != ':') {
                return -1;
            }
        } else if (c == '[' || c == '{') {
            return -1;
        } else {
            plainStart(i, false);
            end = plainEnd(i, false);
            if (ch(end) != ':') {
                return -1;
            }
        }
        char after = ch(end + 1);
        if (after != ' ' && after != '\n') {
            return -1;
        }
        if (end - i > MAX_KEY) {
            throw DECLINE;
        }
        return end;
    }

    /** A scalar or a flow collection at i, in block context: where it ends. */
    private int value(int i) {
        char c = s.charAt(i);
        return switch (c) {
            case '[' -> flowSequence(i, depth + 1);
            case '{' -> flowMapping(i, depth + 1);
            case '"' -> doubleQuoted(i);
            case '\'' -> singleQuoted(i);
            default -> {
                plainStart(i, false);
                int end = plainEnd(i, false);
                if (end < lineEnd && s.charAt(end) == ':') {
                    throw DECLINE;   // "a: b: c", or a key where none may be
                }
                plain(i, trimEnd(i, end));
                yield end;
            }
        };
    }

    /** After a node: spaces, then the end of the line or a comment after a space. */
    private void tail(int i, boolean marker) {
        int j = i;
        while (j < lineEnd && s.charAt(j) == ' ') {
            j++;
        }
        if (j == lineEnd) {
            return;
        }
        if (s.charAt(j) == '#' && j > i) {
            return;
        }
        throw DECLINE;
    }

    private int trimEnd(int from, int to) {
        while (to > from && s.charAt(to - 1) == ' ') {
            to--;
        }
        return to;
    }

    /**
     * A plain scalar may start here: not with an indicator; "-" (and in block context ":") only before a
     * character that is not a space, and in flow context not a flow indicator either ("-1", "--x", "::1/128").
     */
    private void plainStart(int i, boolean flow) {
        char c = s.charAt(i);
        if (c < 128 && INDICATOR[c]) {
            char next = ch(i + 1);
            if (!(c == '-' || c == ':' && !flow) || next == ' ' || next == '\n'
                    || flow && ",[]{}#:".indexOf(next) >= 0) {
                throw DECLINE;
            }
        }
    }

    /**
     * Where a plain scalar starting at i stops, trailing spaces included: at the end of the line, a ':'
     * followed by a space or the line's end (in flow context also by a flow indicator), a " #", or in flow
     * context a flow indicator. '#' and '?' inside a flow scalar are declined.
     */
    private int plainEnd(int i, boolean flow) {
        int p = i;
        while (p < lineEnd) {
            char c = s.charAt(p);
            if (c == ':') {
                char next = ch(p + 1);
                if (next == ' ' || next == '\n' || flow && (next == ',' || next == '[' || next == ']'
                        || next == '{' || next == '}')) {
                    return p;
                }
            } else if (c == ' ') {
                if (ch(p + 1) == '#') {
                    return p;
                }
            } else if (flow) {
                if (c == ',' || c == '[' || c == ']' || c == '{' || c == '}') {
                    return p;
                }
                if (c == '#' || c == '?') {
                    throw DECLINE;
                }
            }
            p++;
        }
        return p;
    }

    private void plain(int from, int to) {
        if (to == from) {
            throw DECLINE;
        }
        if (emit) {
            Optional<Mark> at = mark(from);
            add(at.isEmpty() ? word(from, to) : new ScalarEvent(Optional.empty(), Optional.empty(), PLAIN,
                    s.substring(from, to), ScalarStyle.PLAIN, at, at));
        }
    }

    /** Events of short plain words seen (keys, actions, booleans), by length and first and last letter. */
    private final ScalarEvent[] words = new ScalarEvent[64];

    /**
     * The plain scalar from..to without a mark; the same event as the last time the same short word was read:
     * a 100,000-rule file writes "prefix", "action" and "drop" 100,000 times each, a new event and string
     * each time otherwise. Prefixes (a digit first) are not kept.
     */
    private ScalarEvent word(int from, int to) {
        int n = to - from;
        char first = s.charAt(from);
        if (n > 16 || !(first >= 'a' && first <= 'z' || first >= 'A' && first <= 'Z')) {
            return new ScalarEvent(Optional.empty(), Optional.empty(), PLAIN, s.substring(from, to), ScalarStyle.PLAIN);
        }
        int slot = (n * 31 + first * 7 + s.charAt(to - 1)) & (words.length - 1);
        ScalarEvent w = words[slot];
        if (w != null && w.getValue().length() == n && s.regionMatches(from, w.getValue(), 0, n)) {
            return w;
        }
        w = new ScalarEvent(Optional.empty(), Optional.empty(), PLAIN, s.substring(from, to), ScalarStyle.PLAIN);
        words[slot] = w;
        return w;
    }

    private int skipDoubleQuoted(int i) {
        for (int p = i + 1; p < lineEnd; p++) {
            char c = s.charAt(p);
            if (c == '"') {
                return p + 1;
            }
            if (c == '\\') {
                p++;
                if ("\\\"/nt".indexOf(ch(p)) < 0) {
                    throw DECLINE;
                }
            }
        }
        throw DECLINE;   // over several lines
    }

    private int doubleQuoted(int i) {
        int end = skipDoubleQuoted(i);
        if (emit) {
            String inner = s.substring(i + 1, end - 1);
            if (inner.indexOf('\\') >= 0) {
                StringBuilder b = new StringBuilder(inner.length());
                for (int p = 0; p < inner.length(); p++) {
                    char c = inner.charAt(p);
                    if (c == '\\') {
                        c = inner.charAt(++p);
                        c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
                    }
                    b.append(c);
                }
                inner = b.toString();
            }
            add(new ScalarEvent(Optional.empty(), Optional.empty(), QUOTED, inner, ScalarStyle.DOUBLE_QUOTED,
                    mark(i), sameMark()));
        }
        return end;
    }

    private int skipSingleQuoted(int i) {
        for (int p = i + 1; p < lineEnd; p++) {
            if (s.charAt(p) == '\'') {
                if (ch(p + 1) != '\'') {
                    return p + 1;
                }
                p++;
            }
        }
        throw DECLINE;
    }

    private int singleQuoted(int i) {
        int end = skipSingleQuoted(i);
        if (emit) {
            String inner = s.substring(i + 1, end - 1).replace("''", "'");
            add(new ScalarEvent(Optional.empty(), Optional.empty(), QUOTED, inner, ScalarStyle.SINGLE_QUOTED,
                    mark(i), sameMark()));
        }
        return end;
    }

    private int spaces(int p) {
        while (p < lineEnd && s.charAt(p) == ' ') {
            p++;
        }
        return p;
    }

    /** A scalar or a collection inside a flow collection. */
    private int flowNode(int p, int level) {
        char c = s.charAt(p);
        return switch (c) {
            case '[' -> flowSequence(p, level + 1);
            case '{' -> flowMapping(p, level + 1);
            default -> flowScalar(p);
        };
    }

    private int flowScalar(int p) {
        char c = s.charAt(p);
        if (c == '"') {
            return doubleQuoted(p);
        }
        if (c == '\'') {
            return singleQuoted(p);
        }
        plainStart(p, true);
        int end = plainEnd(p, true);
        plain(p, trimEnd(p, end));
        return end;
    }

    private int flowSequence(int i, int level) {
        if (level > YamlReader.MAX_DEPTH) {
            throw DECLINE;
        }
        Optional<Mark> at = mark(i);
        add(at.isEmpty() ? FLOW_SEQUENCE
                : new SequenceStartEvent(Optional.empty(), Optional.empty(), true, FlowStyle.FLOW, at, at));
        int p = spaces(i + 1);
        if (ch(p) == ']') {
            add(SEQUENCE_END);
            return p + 1;
        }
        while (true) {
            p = spaces(flowNode(p, level));
            char c = ch(p);
            if (c == ']') {
                add(SEQUENCE_END);
                return p + 1;
            }
            if (c != ',') {
                throw DECLINE;   // a pair "[a: b]", the end of the line, or a mistake
            }
            p = spaces(p + 1);
            c = ch(p);
            if (c == ']' || c == ',' || c == '\n') {
                throw DECLINE;
            }
        }
    }

    private int flowMapping(int i, int level) {
        if (level > YamlReader.MAX_DEPTH) {
            throw DECLINE;
        }
        Optional<Mark> at = mark(i);
        add(at.isEmpty() ? FLOW_MAPPING
                : new MappingStartEvent(Optional.empty(), Optional.empty(), true, FlowStyle.FLOW, at, at));
        int p = spaces(i + 1);
        if (ch(p) == '}') {
            add(MAPPING_END);
            return p + 1;
        }
        while (true) {
            char c = ch(p);
            if (c == '[' || c == '{' || c == '\n') {
                throw DECLINE;
            }
            int keyEnd = flowScalar(p);
            if (keyEnd - p > MAX_KEY || ch(keyEnd) != ':' || ch(keyEnd + 1) != ' ') {
                throw DECLINE;
            }
            p = spaces(keyEnd + 1);
            c = ch(p);
            if (c == ',' || c == '}' || c == '\n') {
                throw DECLINE;
            }
            p = spaces(flowNode(p, level));
            c = ch(p);
            if (c == '}') {
                add(MAPPING_END);
                return p + 1;
            }
            if (c != ',') {
                throw DECLINE;
            }
            p = spaces(p + 1);
        }
    }
}
