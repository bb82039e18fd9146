package dev.atlas.peers;

import java.util.SplittableRandom;

/**
 * The benchmark's source data: a 3-D float32 array in C order (z, y, x), held as one {@code float[]}
 * (what a Java user has in hand). Two kinds:
 * <ul>
 *   <li>{@code smooth}: a smooth separable field (sums/products of slow sines) plus small
 *       Gaussian noise (sigma 0.02), quantised to steps of 1/256, like a measured quantity stored
 *       at a fixed resolution: it compresses;</li>
 *   <li>{@code noisy}: 15 + 5 * Gaussian noise at full float32 precision: close to incompressible.</li>
 * </ul>
 * Deterministic for a given kind, shape and offset.
 */
final class Field {
    final int[] shape;
    final float[] data;

    private Field(int[] shape, float[] data) {
        this.shape = shape;
        this.data = data;
    }

    long[] shapeLong() {
        return new long[] {shape[0], shape[1], shape[2]};
    }

    int size() {
        return data.length;
    }

    float at(long z, long y, long x) {
        return data[(int) ((z * shape[1] + y) * shape[2] + x)];
    }

    /**
     * A field of the given kind; {@code origin} shifts the smooth pattern so small datasets are
     * different tiles of one large field.
     */
    static Field generate(String kind, int[] shape, long[] origin, long seed) {
        int nz = shape[0];
        int ny = shape[1];
        int nx = shape[2];
        float[] d = new float[Math.multiplyExact(Math.multiplyExact(nz, ny), nx)];
        SplittableRandom rnd = new SplittableRandom(seed);
        boolean smooth = switch (kind) {
            case "smooth" -> true;
            case "noisy" -> false;
            default -> throw new IllegalArgumentException("unknown data kind '" + kind + "' (smooth, noisy)");
        };
        double[] fx = new double[nx];
        double[] gx = new double[nx];
        for (int x = 0; x < nx; x++) {
            double xx = origin[2] + x;
            fx[x] = Math.sin(0.013 * xx + 0.3);
            gx[x] = Math.cos(0.0071 * xx);
        }
        int i = 0;
        for (int z = 0; z < nz; z++) {
            double zz = origin[0] + z;
            double fz = 10 * Math.sin(0.021 * zz + 0.5);
            for (int y = 0; y < ny; y++) {
                double yy = origin[1] + y;
                double fy = Math.cos(0.017 * yy);
                double hy = 4 * Math.sin(0.009 * yy + 0.01 * zz);
                for (int x = 0; x < nx; x++) {
                    if (smooth) {
                        double v = fz * fy * fx[x] + hy * gx[x] + 20 + 0.02 * gaussian(rnd);
                        d[i++] = (float) (Math.rint(v * 256) / 256);
                    } else {
                        d[i++] = (float) (15 + 5 * gaussian(rnd));
                    }
                }
            }
        }
        return new Field(shape.clone(), d);
    }

    /** Irwin-Hall approximation of a standard normal: cheap and good enough for measurement noise. */
    private static double gaussian(SplittableRandom r) {
        double s = 0;
        for (int k = 0; k < 4; k++) {
            s += r.nextDouble();
        }
        return (s - 2) * Math.sqrt(3);
    }

    /** The field as float[z][y][x] (jHDF's write API takes only Java multi-dimensional arrays). */
    float[][][] to3d() {
        float[][][] out = new float[shape[0]][shape[1]][shape[2]];
        int i = 0;
        for (float[][] plane : out) {
            for (float[] row : plane) {
                System.arraycopy(data, i, row, 0, row.length);
                i += row.length;
            }
        }
        return out;
    }
}
