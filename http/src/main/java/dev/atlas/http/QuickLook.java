package dev.atlas.http;

import dev.atlas.array.NdArray;
import dev.atlas.http.region.Region;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.Atlas;
import dev.atlas.store.DatasetView;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import javax.imageio.ImageIO;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * {@code GET /datasets/{ds}/arrays/{arr}/png?region=&cmap=viridis|gray&min=&max=&width=&height=}: a
 * PNG of a 2-D slice. The region may have any rank but at most two axes longer than 1 (rows = the
 * first of them, columns = the second); without a region, the leading axes are taken at index 0 and
 * the last two whole. Values map linearly from [min, max] (query parameters, else the finite
 * non-fill values of the drawn pixels) onto the colour map; NaN and fill-valued cells are
 * transparent.
 *
 * <p>Limits: the slice read obeys {@link ServerOptions#maxElementsPerRequest()} like every region
 * read (413 above it). The image is at most {@code width x height} (when given) and at most
 * {@link ServerOptions#maxPngPixels()} pixels: a larger slice is downsampled by striding (every
 * s-th row and column, nearest sample, no averaging; {@code X-Atlas-Stride: s}).
 *
 * <p>The slice is read by the engine, turned into ARGB pixels on the thread that completed the read
 * (the engine's codec thread: CPU work, no blocking) and the NdArray closed at once; only heap
 * pixels cross to the server's bounded work scheduler, where ImageIO encodes (ImageIO may touch
 * files and locks, so never on an event loop or codec thread).
 */
final class QuickLook {
    /** The 9 anchors of matplotlib's viridis (as R's viridisLite prints them); the table interpolates linearly. */
    private static final int[] VIRIDIS_ANCHORS = {0x440154, 0x472D7B, 0x3B528B, 0x2C728E, 0x21908C, 0x27AD81, 0x5DC863,
        0xAADC32, 0xFDE725};
    private static final Map<String, int[]> MAPS = Map.of("viridis", table(VIRIDIS_ANCHORS),
            "gray", table(new int[] {0x000000, 0xFFFFFF}));

    static {
        ImageIO.setUseCache(false);                 // encode in memory, never through a temp file
    }

    private final Atlas atlas;
    private final ServerOptions options;
    private final Scheduler work;
    private final Scheduler timer;

    QuickLook(Atlas atlas, ServerOptions options, Scheduler work, Scheduler timer) {
        this.atlas = atlas;
        this.options = options;
        this.work = work;
        this.timer = timer;
    }

    private static int[] table(int[] anchors) {
        int[] t = new int[256];
        for (int i = 0; i < 256; i++) {
            double x = i / 255.0 * (anchors.length - 1);
            int k = Math.min(anchors.length - 2, (int) x);
            double f = x - k;
            int a = anchors[k];
            int b = anchors[k + 1];
            int r = (int) Math.round(((a >> 16) & 0xFF) * (1 - f) + ((b >> 16) & 0xFF) * f);
            int g = (int) Math.round(((a >> 8) & 0xFF) * (1 - f) + ((b >> 8) & 0xFF) * f);
            int bl = (int) Math.round((a & 0xFF) * (1 - f) + (b & 0xFF) * f);
            t[i] = 0xFF000000 | r << 16 | g << 8 | bl;
        }
        return t;
    }

    /** Pixels ready to encode, plus the scale used. */
    private record Pixels(int width, int height, int[] argb, double min, double max) {
    }

    Mono<Reply> render(AtlasRoutes.Call call) {
        DatasetView view = Catalog.view(atlas, call.path("dataset"));
        String array = call.path("array");
        ArraySchema schema = Catalog.schema(view, array);
        DType dtype = schema.dtype();
        if (dtype.elementSize() <= 0 || dtype.kind() == DType.Kind.STRING || dtype.kind() == DType.Kind.BINARY) {
            throw ApiError.badParameter("array", "array '" + array + "' is " + dtype + "; a quick-look needs numbers");
        }
        long[] shape = schema.shape();
        if (shape.length < 2) {
            throw ApiError.badParameter("array", "array '" + array + "' has rank " + shape.length
                    + "; a quick-look needs at least 2 axes");
        }
        Region r;
        if (Params.single(call.query(), "region") == null && Params.single(call.query(), "start") == null
                && Params.single(call.query(), "shape") == null) {
            long[] st = new long[shape.length];
            long[] sh = new long[shape.length];
            for (int i = 0; i < shape.length; i++) {
                sh[i] = i >= shape.length - 2 ? shape[i] : Math.min(1, shape[i]);
            }
            r = new Region(st, sh);
        } else {
            r = Params.region(call.query(), shape);
        }
        int[] axes = imageAxes(r.shape());
        long h = r.shape()[axes[0]];
        long w = r.shape()[axes[1]];
        if (h * w == 0) {
            throw ApiError.badParameter("region", "the region is empty");
        }
        if (h * w > options.maxElementsPerRequest()) {
            throw ApiError.tooLarge("region", "a " + h + " x " + w + " slice exceeds the limit of "
                    + options.maxElementsPerRequest() + " elements a request may read; narrow the region");
        }
        String widthText = Params.single(call.query(), "width");
        String heightText = Params.single(call.query(), "height");
        long maxW = widthText == null ? Long.MAX_VALUE : Params.integer(widthText, "width", 1, 1 << 20);
        long maxH = heightText == null ? Long.MAX_VALUE : Params.integer(heightText, "height", 1, 1 << 20);
        int stride = stride(h, w, maxH, maxW, options.maxPngPixels());
        String cmapName = Optional.ofNullable(Params.single(call.query(), "cmap")).orElse("viridis").toLowerCase(Locale.ROOT);
        int[] cmap = MAPS.get(cmapName);
        if (cmap == null) {
            throw ApiError.badParameter("cmap", "colour map '" + cmapName + "' is not one of " + MAPS.keySet());
        }
        String minText = Params.single(call.query(), "min");
        String maxText = Params.single(call.query(), "max");
        Double min = minText == null ? null : Params.number(minText, "min");
        Double max = maxText == null ? null : Params.number(maxText, "max");
        if (min != null && max != null && max < min) {
            throw ApiError.badParameter("max", "max " + max + " is below min " + min);
        }
        Mono<Reply> png = view.arrayFillValue(array).map(Optional::of).defaultIfEmpty(Optional.empty())
                .flatMap(fill -> view.readArray(array, r.start(), r.shape())
                        .map(a -> {
                            try (a) {
                                return pixels(a, (int) h, (int) w, stride, fill.orElse(null), min, max, cmap);
                            }
                        }))
                .switchIfEmpty(Mono.error(() -> ApiError.notFound("dataset '" + view.name() + "' has no array '"
                        + array + "'", "array")))
                .flatMap(px -> Mono.fromCallable(() -> encode(px)).subscribeOn(work)
                        .map(b -> {
                            Reply reply = Reply.bytes(io.netty.handler.codec.http.HttpResponseStatus.OK, "image/png", b);
                            reply.headers().set("X-Atlas-Min", Double.toString(px.min()))
                                    .set("X-Atlas-Max", Double.toString(px.max()))
                                    .set("X-Atlas-Stride", Integer.toString(stride));
                            return reply;
                        }));
        return png.timeout(java.time.Duration.ofNanos(Math.max(1, call.remainingNanos())), timer);
    }

    /**
     * The stride that brings an {@code h x w} slice within {@code maxH x maxW} pixels and within
     * {@code maxPixels} in all: 1 when it fits, else the smallest that does (every stride-th row and
     * column is drawn: nearest-sample downsampling, no averaging).
     */
    static int stride(long h, long w, long maxH, long maxW, long maxPixels) {
        long s = Math.max(1, Math.max(ceilDiv(h, maxH), ceilDiv(w, maxW)));
        while (ceilDiv(h, s) * ceilDiv(w, s) > maxPixels) {
            s++;
        }
        return (int) Math.min(Integer.MAX_VALUE, s);
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /** Row and column axes of a region: the (at most two) axes longer than 1, else the last two. */
    static int[] imageAxes(long[] shape) {
        int rank = shape.length;
        int[] big = new int[2];
        int n = 0;
        for (int i = 0; i < rank; i++) {
            if (shape[i] > 1) {
                if (n == 2) {
                    throw ApiError.badParameter("region", "a quick-look needs a 2-D slice; region has more than two axes"
                            + " longer than 1 (" + List.of(java.util.Arrays.stream(shape).boxed().toArray()) + ")");
                }
                big[n++] = i;
            }
        }
        if (n == 2) {
            return big;
        }
        if (n == 1) {
            return big[0] == rank - 1 ? new int[] {rank - 2, rank - 1} : new int[] {big[0], rank - 1};
        }
        return new int[] {rank - 2, rank - 1};
    }

    private static double value(NdArray a, long i) {
        return switch (a.dtype().kind()) {
            case BOOL, INT8 -> a.getByte(i);
            case UINT8 -> a.getByte(i) & 0xFF;
            case INT16 -> a.getShort(i);
            case UINT16 -> a.getShort(i) & 0xFFFF;
            case INT32 -> a.getInt(i);
            case UINT32 -> a.getInt(i) & 0xFFFF_FFFFL;
            case INT64, TIMESTAMP_NS -> a.getLong(i);
            case UINT64 -> Json.unsigned(a.getLong(i)).doubleValue();
            case FLOAT32 -> a.getFloat(i);
            case FLOAT64 -> a.getDouble(i);
            default -> throw ApiError.badParameter("array", a.dtype() + " values cannot be drawn");
        };
    }

    private static Double fillNumber(FillValue f) {
        if (f instanceof FillValue.Int i) {
            return (double) i.value();
        }
        if (f instanceof FillValue.UInt u) {
            return Json.unsigned(u.value()).doubleValue();
        }
        if (f instanceof FillValue.Float x) {
            return x.value();
        }
        if (f instanceof FillValue.Bool b) {
            return b.value() ? 1.0 : 0.0;
        }
        if (f instanceof FillValue.TimestampNs t) {
            return (double) t.value();
        }
        return null;
    }

    /** The pixels of the {@code h x w} slice {@code a} drawn every {@code stride}-th row and column. */
    static Pixels pixels(NdArray a, int h, int w, int stride, FillValue fill, Double min, Double max, int[] cmap) {
        Double fv = fillNumber(fill);
        int oh = (int) ceilDiv(h, stride);
        int ow = (int) ceilDiv(w, stride);
        int n = oh * ow;
        double[] v = new double[n];
        boolean[] clear = new boolean[n];
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            double x = value(a, (long) (i / ow) * stride * w + (long) (i % ow) * stride);
            v[i] = x;
            boolean isFill = fv != null && (Double.isNaN(fv) ? Double.isNaN(x) : x == fv);
            if (Double.isNaN(x) || isFill) {
                clear[i] = true;
            } else if (Double.isFinite(x)) {
                lo = Math.min(lo, x);
                hi = Math.max(hi, x);
            }
        }
        double mn = min != null ? min : (lo == Double.POSITIVE_INFINITY ? 0 : lo);
        double mx = max != null ? max : (hi == Double.NEGATIVE_INFINITY ? 1 : hi);
        if (mx < mn) {
            mx = mn;
        }
        double span = mx - mn;
        int[] argb = new int[n];
        for (int i = 0; i < n; i++) {
            if (clear[i]) {
                argb[i] = 0;                            // fully transparent
                continue;
            }
            double t = span > 0 ? (v[i] - mn) / span : 0.5;
            int k = (int) Math.round(Math.max(0, Math.min(1, t)) * 255);
            argb[i] = cmap[k];
        }
        return new Pixels(ow, oh, argb, mn, mx);
    }

    private static byte[] encode(Pixels px) {
        BufferedImage img = new BufferedImage(px.width(), px.height(), BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, px.width(), px.height(), px.argb(), 0, px.width());
        ByteArrayOutputStream out = new ByteArrayOutputStream(px.width() * px.height() / 2 + 1024);
        try {
            if (!ImageIO.write(img, "png", out)) {
                throw new IllegalStateException("no PNG writer in this JDK");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
