/* Host orchestration of the Philox kernels on any backend. */
#include "zkclob/random.h"

#include "../core/internal.h"
#include "../../kernels/philox.h"
#include "zkclob/device.h"

size_t zc_random_elem_size(zc_philox_variant variant, zc_random_output output)
{
    if (output != ZC_RANDOM_RAW)
        return sizeof(double);
    return variant == ZC_PHILOX_4X64 ? sizeof(uint64_t) : sizeof(uint32_t);
}

typedef struct philox_job {
    const zc_philox_params *p;
    zc_random_output output;
    void *out;
    size_t n;
} philox_job;

static zc_status philox_op(int dev, void *user)
{
    const philox_job *job = user;
    const zc_philox_params *p = job->p;
    uint32_t wide = p->variant == ZC_PHILOX_4X64;
    size_t bytes = job->n * zc_random_elem_size(p->variant, job->output);
    uint32_t per = zc_philox_per_block(wide, (uint32_t)job->output);
    zc_device_info info;
    ZC_CHECK(zc_device_info_get(dev, &info));
    int shared = (info.caps & ZC_CAP_HOST_SHARED) != 0;
    zc_devbuf *buf;
    ZC_CHECK(shared ? zc_buf_wrap(dev, job->out, bytes, &buf) : zc_buf_alloc(dev, bytes, &buf));
    zc_karg args[] = {zc_arg_buf(buf),       zc_arg_u64(job->n),     zc_arg_u32(wide),
                      zc_arg_u32((uint32_t)job->output), zc_arg_u64(p->key[0]), zc_arg_u64(p->key[1]),
                      zc_arg_u64(p->counter[0]), zc_arg_u64(p->counter[1]), zc_arg_u64(p->counter[2]),
                      zc_arg_u64(p->counter[3])};
    zc_status st = zc_launch(dev, "zc_philox", (job->n + per - 1) / per, args, 10);
    if (st == ZC_OK && !shared)
        st = zc_buf_read(buf, 0, job->out, bytes);
    zc_buf_free(buf);
    return st;
}

zc_status zc_philox_generate(int *device, const zc_philox_params *params, zc_random_output output, void *out, size_t n)
{
    if (!device || !params || (!out && n))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "device, params and out must not be NULL");
    if (params->variant != ZC_PHILOX_4X32 && params->variant != ZC_PHILOX_4X64)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown Philox variant %d", (int)params->variant);
    if ((unsigned)output > ZC_RANDOM_NORMAL)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown random output kind %d", (int)output);
    if (params->variant == ZC_PHILOX_4X32 && (params->key[1] || params->counter[2] || params->counter[3]))
        return ZC_ERR(ZC_ERR_OUT_OF_RANGE, "Philox4x32 takes a 64-bit key and a 128-bit counter");
    if (n > SIZE_MAX / 8)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "n = %zu is too large", n);
    if (n == 0)
        return ZC_OK;
    philox_job job = {params, output, out, n};
    return zc_run(device, "philox", philox_op, &job);
}
