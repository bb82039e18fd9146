package dev.atlas.examples.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parser for the CDL text {@code ncdump -p 9,17} prints, enough for the test fixtures:
 * dimensions, variables with their type, dimensions and attributes, global attributes, and the
 * data section (numbers, {@code _} for fill). Attribute values are kept as their CDL tokens.
 */
record NcDump(Map<String, Long> dimensions, Map<String, Var> variables, Map<String, List<String>> globals) {

    /** A variable: netCDF type name, dimension names, attributes (CDL tokens), data tokens. */
    record Var(String type, List<String> dims, Map<String, List<String>> attributes, List<String> data) {
    }

    private static final Pattern DIM = Pattern.compile("\\s*(\\w+) = (UNLIMITED ; // \\((\\d+) currently\\)|(\\d+) ;)");
    private static final Pattern VAR = Pattern.compile("\\s*(\\w+) (\\w+)(?:\\(([^)]*)\\))? ;");
    private static final Pattern ATTR = Pattern.compile("\\s*(?:string )?(\\w*):(\\w+) = (.*) ;");

    static NcDump parse(String text) {
        Map<String, Long> dims = new LinkedHashMap<>();
        Map<String, Var> vars = new LinkedHashMap<>();
        Map<String, List<String>> globals = new LinkedHashMap<>();
        String section = "";
        StringBuilder data = new StringBuilder();
        for (String line : text.split("\n")) {
            String t = line.strip();
            if (t.equals("dimensions:") || t.equals("variables:") || t.equals("data:")) {
                section = t;
                continue;
            }
            switch (section) {
                case "dimensions:": {
                    Matcher m = DIM.matcher(line);
                    if (m.matches()) {
                        dims.put(m.group(1), Long.parseLong(m.group(3) != null ? m.group(3) : m.group(4)));
                    }
                    break;
                }
                case "variables:": {
                    Matcher a = ATTR.matcher(line);
                    if (a.matches()) {
                        List<String> v = tokens(a.group(3));
                        if (a.group(1).isEmpty()) {
                            globals.put(a.group(2), v);
                        } else {
                            vars.get(a.group(1)).attributes().put(a.group(2), v);
                        }
                        break;
                    }
                    Matcher v = VAR.matcher(line);
                    if (v.matches()) {
                        List<String> d = v.group(3) == null ? List.of() : List.of(v.group(3).split(",\\s*"));
                        vars.put(v.group(2), new Var(v.group(1), d, new LinkedHashMap<>(), new ArrayList<>()));
                    }
                    break;
                }
                case "data:":
                    data.append(t.equals("}") ? "" : t).append(' ');
                    break;
                default:
                    break;
            }
        }
        for (String stmt : data.toString().split(";")) {
            int eq = stmt.indexOf('=');
            if (eq < 0) {
                continue;
            }
            vars.get(stmt.substring(0, eq).strip()).data().addAll(tokens(stmt.substring(eq + 1)));
        }
        return new NcDump(dims, vars, globals);
    }

    /** Comma separated CDL values; quoted strings keep their quotes stripped. */
    static List<String> tokens(String s) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("\"((?:[^\"\\\\]|\\\\.)*)\"|([^,\\s][^,]*)").matcher(s);
        while (m.find()) {
            out.add(m.group(1) != null ? m.group(1) : m.group(2).strip());
        }
        return out;
    }

    /** A CDL number without its type suffix (f, b, s, UB, US, U, LL, ULL...). */
    static String number(String token) {
        return token.replaceAll("(?i)(ull|ll|ub|us|u|b|s|f)$", "");
    }
}
