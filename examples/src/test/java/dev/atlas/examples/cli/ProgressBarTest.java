package dev.atlas.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The progress bar: periodic lines off a terminal, in-place redraws (leaving no stale text) on one. */
class ProgressBarTest {

    @Test
    void offATerminalItPrintsOneLinePerTenth() {
        StringWriter w = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(w), "load", 100, "items", false);
        for (int i = 0; i < 100; i++) {
            bar.advance(1);
        }
        bar.finish();
        bar.finish();
        List<String> lines = w.toString().lines().toList();
        assertEquals(10, lines.size(), w.toString());
        assertTrue(lines.get(0).startsWith("load [###...........................]  10% 10/100 items, "), lines.get(0));
        assertTrue(lines.get(9).startsWith("load [##############################] 100% 100/100 items, "), lines.get(9));
        assertFalse(w.toString().contains("\r"));
    }

    @Test
    void onATerminalItRedrawsInPlaceAndBlanksLeftovers() throws Exception {
        StringWriter w = new StringWriter();
        ProgressBar bar = new ProgressBar(new PrintWriter(w), "load", 3, "items", true);
        bar.advance(1);                       // drawn at once (first draw), with "... s left"
        Thread.sleep(120);
        bar.advance(2);                       // done: drawn, shorter (no "left")
        bar.finish();
        String s = w.toString();
        assertTrue(s.startsWith("\rload [##########....................]  33% 1/3 items, "), s);
        assertTrue(s.endsWith("\n"), "a newline ends the bar");
        String[] draws = s.substring(1, s.length() - 1).split("\r");
        assertTrue(draws.length >= 2, s);
        assertTrue(draws[0].contains("left"), draws[0]);
        for (int i = 1; i < draws.length; i++) {
            assertTrue(draws[i].length() >= draws[i - 1].stripTrailing().length(),
                    "redraw " + i + " covers the earlier, longer line: '" + draws[i] + "' after '" + draws[i - 1] + "'");
        }
        assertFalse(draws[1].strip().contains("left"), draws[1]);
        String last = draws[draws.length - 1];
        assertTrue(last.strip().matches("load \\[#{30}\\] 100% 3/3 items, [0-9.]+/s"), last);
    }
}
