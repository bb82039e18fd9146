package dev.atlas.examples.cli;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The demo's synthetic gridded datasets: monthly fields on a 5-degree global grid, one
 * "ensemble member" per dataset, reproducible from the member number. Four arrays each:
 * {@code time} (float64 days since 2000-01-01), {@code temperature} (float32 K, a smooth field:
 * latitude gradient, seasonal cycle, a member-specific wave, plus noise at 0.01 K resolution),
 * {@code precipitation} (float32 mm/day, skewed, dry zones, NaN for missing cells), and
 * {@code land_mask} (uint8 0/1 from smooth pseudo-continents).
 */
final class SyntheticGrid {
    static final int TIME = 12;
    static final int LAT = 36;
    static final int LON = 72;
    static final long[] GRID = {TIME, LAT, LON};
    static final long[] GRID_CHUNKS = {6, 18, 36};
    static final String[] ARRAYS = {"time", "temperature", "precipitation", "land_mask"};

    private static final double[] LAT_DEG = new double[LAT];
    private static final double[] LON_DEG = new double[LON];

    static {
        for (int y = 0; y < LAT; y++) {
            LAT_DEG[y] = -87.5 + 5 * y;
        }
        for (int x = 0; x < LON; x++) {
            LON_DEG[x] = 2.5 + 5 * x;
        }
    }

    private SyntheticGrid() {
    }

    /** Array definitions (same for every member). */
    static Map<String, ArraySpec> specs() {
        Map<String, ArraySpec> m = new LinkedHashMap<>();
        m.put("time", ArraySpec.of(DType.FLOAT64, TIME).withDimensions("time"));
        m.put("temperature", ArraySpec.of(DType.FLOAT32, GRID).withChunks(GRID_CHUNKS)
                .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(Double.NaN)));
        m.put("precipitation", ArraySpec.of(DType.FLOAT32, GRID).withChunks(GRID_CHUNKS)
                .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(Double.NaN)));
        m.put("land_mask", ArraySpec.of(DType.UINT8, LAT, LON).withDimensions("lat", "lon")
                .withFill(new FillValue.UInt(255)));
        return m;
    }

    /** Per-array attributes (CF style). */
    static Map<String, Map<String, AttributeValue>> arrayAttributes() {
        Map<String, Map<String, AttributeValue>> m = new LinkedHashMap<>();
        Map<String, AttributeValue> time = new LinkedHashMap<>();
        time.put("units", AttributeValue.ofString("days since 2000-01-01 00:00:00"));
        time.put("long_name", AttributeValue.ofString("time"));
        time.put("calendar", AttributeValue.ofString("standard"));
        m.put("time", time);
        m.put("temperature", attrs("K", "air temperature at 2 m", "air_temperature"));
        m.put("precipitation", attrs("mm/day", "daily precipitation rate", "precipitation_flux"));
        Map<String, AttributeValue> mask = new LinkedHashMap<>();
        mask.put("long_name", AttributeValue.ofString("land-sea mask"));
        mask.put("flag_values", AttributeValue.ofUInt8List(new byte[] {0, 1}));
        mask.put("flag_meanings", AttributeValue.ofString("sea land"));
        m.put("land_mask", mask);
        return m;
    }

    private static Map<String, AttributeValue> attrs(String units, String longName, String standardName) {
        Map<String, AttributeValue> m = new LinkedHashMap<>();
        m.put("units", AttributeValue.ofString(units));
        m.put("long_name", AttributeValue.ofString(longName));
        m.put("standard_name", AttributeValue.ofString(standardName));
        return m;
    }

    /** One member's four arrays (heap buffers; close them). */
    record Member(NdArray time, NdArray temperature, NdArray precipitation, NdArray landMask) implements AutoCloseable {
        NdArray get(String array) {
            switch (array) {
                case "time": return time;
                case "temperature": return temperature;
                case "precipitation": return precipitation;
                default: return landMask;
            }
        }

        /** Uncompressed bytes of the four arrays. */
        long bytes() {
            return time.size() * 8 + (temperature.size() + precipitation.size()) * 4 + landMask.size();
        }

        @Override
        public void close() {
            time.close();
            temperature.close();
            precipitation.close();
            landMask.close();
        }
    }

    /** Generates member {@code m}; deterministic in {@code m}. */
    static Member generate(int m) {
        SplittableRandom rnd = new SplittableRandom(0x5EED_0000L + m);
        int startYear = 2000 + m % 20;
        double[] time = new double[TIME];
        for (int t = 0; t < TIME; t++) {
            time[t] = (startYear - 2000) * 365.25 + t * 30.4375 + 15;
        }
        byte[] land = new byte[LAT * LON];
        double shift = m % 7 * 0.05;
        for (int y = 0; y < LAT; y++) {
            for (int x = 0; x < LON; x++) {
                double la = Math.toRadians(LAT_DEG[y]);
                double lo = Math.toRadians(LON_DEG[x]);
                double c = Math.sin(2 * lo + shift) * Math.cos(la) + 0.6 * Math.sin(3 * la + lo) - 0.25;
                land[y * LON + x] = (byte) (c > 0 ? 1 : 0);
            }
        }
        float[] temp = new float[TIME * LAT * LON];
        float[] precip = new float[TIME * LAT * LON];
        double offset = rnd.nextDouble(-1.5, 1.5);
        double phase = rnd.nextDouble(0, 2 * Math.PI);
        double missingRate = m % 10 == 3 ? 0.15 : 0.02;
        int i = 0;
        for (int t = 0; t < TIME; t++) {
            double season = Math.cos(2 * Math.PI * (t - 0.5) / 12);
            for (int y = 0; y < LAT; y++) {
                double la = Math.toRadians(LAT_DEG[y]);
                double sinLat = Math.sin(la);
                double base = 300 - 45 * sinLat * sinLat + 12 * season * sinLat;
                double wet = Math.exp(-Math.pow(LAT_DEG[y] / 12, 2)) * 8 + Math.exp(-Math.pow((Math.abs(LAT_DEG[y]) - 50) / 10, 2)) * 3;
                for (int x = 0; x < LON; x++) {
                    boolean isLand = land[y * LON + x] == 1;
                    double lo = Math.toRadians(LON_DEG[x]);
                    double wave = 2.5 * Math.sin(3 * lo + phase + 0.3 * t) * Math.cos(la);
                    double k = base + offset + wave + (isLand ? 4 * season * sinLat : 0) + rnd.nextGaussian() * 0.4;
                    temp[i] = (float) (Math.round(k * 100) / 100.0);
                    if (rnd.nextDouble() < missingRate) {
                        precip[i] = Float.NaN;
                    } else {
                        double rate = wet * (isLand ? 0.7 : 1.0) * -Math.log(1 - rnd.nextDouble());
                        precip[i] = rate < 0.1 ? 0f : (float) (Math.round(rate * 10) / 10.0);
                    }
                    i++;
                }
            }
        }
        return new Member(NdArray.ofDoubles(new long[] {TIME}, time), NdArray.ofFloats(GRID, temp),
                NdArray.ofFloats(GRID, precip), NdArray.ofBytes(DType.UINT8, new long[] {LAT, LON}, land));
    }
}
