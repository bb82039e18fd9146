package dev.atlas.http;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/**
 * A list of dataset names as one URL path segment, so that a stack of named datasets
 * ({@code /zarr/v2/_names/{token}/}) needs no state on the server: any serving process of a fleet
 * answers it alike, and its URL is its own content address. The token is the names, in order,
 * joined by {@code "\n"} (which no dataset name contains), as UTF-8, zlib-compressed (RFC 1950), in
 * unpadded base64url (RFC 4648 section 5). In Python:
 * {@code base64.urlsafe_b64encode(zlib.compress("\n".join(names).encode())).rstrip(b"=").decode()}.
 *
 * <p>The token lies on the request line, whose length the server bounds
 * ({@link ServerOptions#maxRequestLineBytes()}, 4,096 bytes by default): about 1,500 names such
 * as {@code grid_0000..grid_1499} fit (they compress well), a few hundred arbitrary ones; a larger
 * selection is a prefix, or a server with a longer request line.
 */
final class ZarrNames {
    /** The most bytes a token inflates to (a bound against a small token that inflates to a huge list). */
    static final int MAX_INFLATED = 16 << 20;

    private ZarrNames() {
    }

    /** The token of {@code names} (in order). */
    static String encode(List<String> names) {
        byte[] raw = String.join("\n", names).getBytes(StandardCharsets.UTF_8);
        Deflater d = new Deflater(Deflater.BEST_COMPRESSION);
        try {
            d.setInput(raw);
            d.finish();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (!d.finished()) {
                out.write(buf, 0, d.deflate(buf));
            }
            return Base64.getUrlEncoder().withoutPadding().encodeToString(out.toByteArray());
        } finally {
            d.end();
        }
    }

    /**
     * The names a token lists: 400 when it is not a token, lists no name, an empty or invalid one, or
     * one twice; 413 when it lists more than {@code max}.
     */
    static List<String> decode(String token, int max) {
        byte[] zipped;
        try {
            zipped = Base64.getUrlDecoder().decode(token);
        } catch (IllegalArgumentException e) {
            throw bad("is not base64url (" + e.getMessage() + ")");
        }
        Inflater inf = new Inflater();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            inf.setInput(zipped);
            byte[] buf = new byte[8192];
            while (!inf.finished()) {
                int n = inf.inflate(buf);
                if (n == 0 && (inf.needsInput() || inf.needsDictionary())) {
                    throw bad("is cut short (its zlib stream does not end)");
                }
                if (out.size() + n > MAX_INFLATED) {
                    throw bad("inflates to more than " + MAX_INFLATED + " bytes");
                }
                out.write(buf, 0, n);
            }
            if (inf.getRemaining() > 0) {
                throw bad("has bytes after its zlib stream");
            }
        } catch (DataFormatException e) {
            throw bad("is not a zlib stream (" + e.getMessage() + ")");
        } finally {
            inf.end();
        }
        String joined = out.toString(StandardCharsets.UTF_8);
        List<String> names = new ArrayList<>(List.of(joined.split("\n", -1)));
        if (names.size() > max) {
            throw ApiError.tooLarge("names", "the list names " + names.size() + " datasets; a stack holds at most " + max);
        }
        Set<String> seen = new HashSet<>();
        for (String n : names) {
            Params.name(n, "names");
            if (!seen.add(n)) {
                throw bad("names dataset '" + n + "' twice");
            }
        }
        return names;
    }

    private static ApiError bad(String what) {
        return ApiError.badParameter("names", "the names token " + what + " (the token is unpadded base64url of the"
                + " zlib-compressed UTF-8 names joined by newlines)");
    }
}
