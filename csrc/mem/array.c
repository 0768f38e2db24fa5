#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "../core/internal.h"
#include "zkclob/mem.h"

#define ZC_HUGE_PAGE ((size_t)2 << 20)
#define ZC_HUGE_THRESHOLD ((size_t)4 << 20)

struct zc_array {
    atomic_int refs;
    zc_dtype dtype;
    int ndim;
    size_t shape[ZC_ARRAY_MAX_DIMS];
    size_t size;
    size_t nbytes;
    void *data;
};

static const struct {
    size_t size;
    const char *typestr;
} dtypes[ZC_DTYPE_COUNT] = {{1, "|u1"}, {4, "<u4"}, {8, "<u8"}, {4, "<i4"}, {8, "<i8"}, {8, "<f8"}};

size_t zc_dtype_size(zc_dtype t) { return (unsigned)t < ZC_DTYPE_COUNT ? dtypes[t].size : 0; }

const char *zc_dtype_typestr(zc_dtype t) { return (unsigned)t < ZC_DTYPE_COUNT ? dtypes[t].typestr : ""; }

zc_status zc_array_new(zc_dtype dtype, int ndim, const size_t *shape, zc_array **out)
{
    if (!out || (ndim > 0 && !shape))
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "shape and out must not be NULL");
    if ((unsigned)dtype >= ZC_DTYPE_COUNT)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "unknown dtype %d", (int)dtype);
    if (ndim < 0 || ndim > ZC_ARRAY_MAX_DIMS)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "ndim must be in [0, %d], got %d", ZC_ARRAY_MAX_DIMS, ndim);
    size_t size = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] != 0 && size > SIZE_MAX / shape[i])
            return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "array shape overflows size_t");
        size *= shape[i];
    }
    size_t elem = dtypes[dtype].size;
    if (size > (SIZE_MAX - ZC_ARRAY_ALIGN) / elem)
        return ZC_ERR(ZC_ERR_INVALID_ARGUMENT, "array of %zu elements overflows size_t", size);
    zc_array *a = calloc(1, sizeof *a);
    if (!a)
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "array header");
    a->nbytes = size * elem;
    /* Large arrays get 2 MiB alignment and transparent huge pages (as NumPy
     * does): first-touch page faults otherwise dominate streaming kernels. */
    size_t align = a->nbytes >= ZC_HUGE_THRESHOLD ? ZC_HUGE_PAGE : ZC_ARRAY_ALIGN;
    size_t rounded = (a->nbytes + align - 1) / align * align;
    a->data = aligned_alloc(align, rounded ? rounded : align);
#ifdef MADV_HUGEPAGE
    if (a->data && align == ZC_HUGE_PAGE)
        madvise(a->data, rounded, MADV_HUGEPAGE);
#endif
    if (!a->data) {
        size_t nbytes = a->nbytes;
        free(a);
        return ZC_ERR(ZC_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes", nbytes);
    }
    atomic_init(&a->refs, 1);
    a->dtype = dtype;
    a->ndim = ndim;
    if (ndim > 0)
        memcpy(a->shape, shape, (size_t)ndim * sizeof *shape);
    a->size = size;
    *out = a;
    return ZC_OK;
}

void zc_array_retain(zc_array *a)
{
    if (a)
        atomic_fetch_add(&a->refs, 1);
}

void zc_array_release(zc_array *a)
{
    if (a && atomic_fetch_sub(&a->refs, 1) == 1) {
        free(a->data);
        free(a);
    }
}

void *zc_array_data(const zc_array *a) { return a->data; }
size_t zc_array_nbytes(const zc_array *a) { return a->nbytes; }
size_t zc_array_size(const zc_array *a) { return a->size; }
zc_dtype zc_array_dtype(const zc_array *a) { return a->dtype; }
int zc_array_ndim(const zc_array *a) { return a->ndim; }
const size_t *zc_array_shape(const zc_array *a) { return a->shape; }
