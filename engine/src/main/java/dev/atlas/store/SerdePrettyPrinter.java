package dev.atlas.store;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.PrettyPrinter;
import java.io.IOException;

/**
 * The byte-exact JSON layout of registry files, serde_json's {@code PrettyFormatter}: two-space
 * indent, {@code "key": value}, one array element per line, {@code []} and {@code {}} when empty,
 * no trailing newline.
 */
final class SerdePrettyPrinter implements PrettyPrinter {
    private int depth;

    private void newline(JsonGenerator g) throws IOException {
        g.writeRaw('\n');
        for (int i = 0; i < depth; i++) {
            g.writeRaw("  ");
        }
    }

    /** Opens a map or a sequence one level deeper. */
    private void open(JsonGenerator g, char bracket) throws IOException {
        g.writeRaw(bracket);
        depth++;
    }

    /** Closes a map or a sequence: on its own line unless it is empty ({@code {}}, {@code []}). */
    private void close(JsonGenerator g, int count, char bracket) throws IOException {
        depth--;
        if (count > 0) {
            newline(g);
        }
        g.writeRaw(bracket);
    }

    /** Between two map entries or sequence elements: a comma, then the next one on its own line. */
    private void separate(JsonGenerator g) throws IOException {
        g.writeRaw(',');
        newline(g);
    }

    // Maps and sequences side by side: they differ only in their brackets.

    @Override
    public void writeStartObject(JsonGenerator g) throws IOException {
        open(g, '{');
    }

    @Override
    public void writeStartArray(JsonGenerator g) throws IOException {
        open(g, '[');
    }

    @Override
    public void beforeObjectEntries(JsonGenerator g) throws IOException {
        newline(g);
    }

    @Override
    public void beforeArrayValues(JsonGenerator g) throws IOException {
        newline(g);
    }

    @Override
    public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
        separate(g);
    }

    @Override
    public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
        separate(g);
    }

    @Override
    public void writeEndObject(JsonGenerator g, int entries) throws IOException {
        close(g, entries, '}');
    }

    @Override
    public void writeEndArray(JsonGenerator g, int values) throws IOException {
        close(g, values, ']');
    }

    @Override
    public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
        g.writeRaw(": ");
    }

    @Override
    public void writeRootValueSeparator(JsonGenerator g) {
    }
}
