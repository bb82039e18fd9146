package dev.atlas.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.atlas.format.AttributeValue;
import dev.atlas.store.Attr;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The text forms of attributes: a dataset attribute prints as an array attribute of the same value. */
class ValuesTest {
    @Test
    void datasetAndArrayAttributesPrintAlike() {
        assertEquals(Values.attribute(AttributeValue.ofString("K")), Values.attr(Attr.of("K")));
        assertEquals("\"K\"", Values.attr(Attr.of("K")));
        assertEquals(Values.attribute(AttributeValue.ofInt64(-3)), Values.attr(Attr.of(-3L)));
        assertEquals("-3", Values.attr(Attr.of(-3L)));
        assertEquals(Values.attribute(AttributeValue.ofFloat64(Double.NaN)), Values.attr(Attr.of(Double.NaN)));
        assertEquals("NaN", Values.attr(Attr.of(Double.NaN)));
        assertEquals(Values.attribute(AttributeValue.ofBool(true)), Values.attr(Attr.of(true)));
        assertEquals("2023-11-14T22:13:20Z", Values.attr(Attr.timestampNanos(1_700_000_000_000_000_000L)));
    }

    @Test
    void stringsAreQuotedWithEscapesEverywhere() {
        assertEquals("\"a\\\"b\\\\c\"", Values.attr(Attr.of("a\"b\\c")));
        assertEquals("\"a\\\"b\\\\c\"", Values.attribute(AttributeValue.ofString("a\"b\\c")));
        assertEquals("\"x\", \"y\\\"\"", Values.attribute(AttributeValue.ofStringList(List.of("x", "y\""))));
        assertEquals("255, 0", Values.attribute(AttributeValue.ofUInt8List(new byte[] {(byte) 255, 0})));
    }
}
