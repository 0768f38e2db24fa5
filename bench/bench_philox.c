/* Raw Philox words per second through the C API into a reused, pre-faulted
 * buffer: the kernel's rate without allocation or page faults. The anchor is
 * the cpu backend on one thread in the same run. One JSON line per case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zkclob/zkclob.h>

#define REPEATS 5

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double best_seconds(int dev, zc_philox_variant variant, void *out, size_t n)
{
    zc_philox_params p = {variant, {1, 0}, {0, 0, 0, 0}};
    double best = 1e30;
    for (int r = 0; r <= REPEATS; r++) { /* the first run warms up */
        int d = dev;
        double t0 = now();
        zc_status st = zc_philox_generate(&d, &p, ZC_RANDOM_RAW, out, n);
        double dt = now() - t0;
        if (st != ZC_OK) {
            fprintf(stderr, "bench_philox: %s\n", zc_last_error());
            exit(1);
        }
        if (r > 0 && dt < best)
            best = dt;
    }
    return best;
}

static void emit(const char *bench, size_t n, double seconds, double anchor_rate)
{
    double rate = (double)n / seconds;
    printf("{\"bench\": \"%s\", \"n\": %zu, \"seconds\": %.6f, \"rate\": %.0f, \"anchor\": \"c/cpu/1thread\", "
           "\"ratio\": %.3f}\n",
           bench, n, seconds, rate, rate / anchor_rate);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : (size_t)1 << 24;
    uint64_t *out = malloc(n * sizeof *out);
    if (!out)
        return 1;
    memset(out, 0, n * sizeof *out);
    int cpu;
    if (zc_device_find("cpu", &cpu) != ZC_OK)
        return 1;
    zc_device_set_threads(cpu, 1);
    double anchor = best_seconds(cpu, ZC_PHILOX_4X64, out, n);
    double anchor_rate = (double)n / anchor;
    emit("c/philox4x64_raw/cpu/1thread", n, anchor, anchor_rate);
    emit("c/philox4x32_raw/cpu/1thread", n, best_seconds(cpu, ZC_PHILOX_4X32, out, n), anchor_rate);
    zc_device_set_threads(cpu, 0);
    emit("c/philox4x64_raw/cpu/all", n, best_seconds(cpu, ZC_PHILOX_4X64, out, n), anchor_rate);
    emit("c/philox4x32_raw/cpu/all", n, best_seconds(cpu, ZC_PHILOX_4X32, out, n), anchor_rate);
    int ocl;
    if (zc_device_find("opencl", &ocl) == ZC_OK)
        emit("c/philox4x64_raw/opencl", n, best_seconds(ocl, ZC_PHILOX_4X64, out, n), anchor_rate);
    free(out);
    zc_shutdown();
    return 0;
}
