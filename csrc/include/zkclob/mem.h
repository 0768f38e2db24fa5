/* zkclob memory: reference-counted host arrays that own engine results and
 * are handed to Python without copying. */
#ifndef ZKCLOB_MEM_H
#define ZKCLOB_MEM_H

#include "zkclob/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum zc_dtype {
    ZC_DTYPE_U8 = 0,
    ZC_DTYPE_U32,
    ZC_DTYPE_U64,
    ZC_DTYPE_I32,
    ZC_DTYPE_I64,
    ZC_DTYPE_F64,
    ZC_DTYPE_COUNT
} zc_dtype;

ZC_API size_t zc_dtype_size(zc_dtype t);
/* NumPy typestr of the dtype, e.g. "<u8". */
ZC_API const char *zc_dtype_typestr(zc_dtype t);

#define ZC_ARRAY_MAX_DIMS 4
#define ZC_ARRAY_ALIGN 64

typedef struct zc_array zc_array;

/* A new array with refcount 1, 64-byte aligned, contents uninitialised. */
ZC_API zc_status zc_array_new(zc_dtype dtype, int ndim, const size_t *shape, zc_array **out);
ZC_API void zc_array_retain(zc_array *a);
/* Frees the memory when the last reference goes. */
ZC_API void zc_array_release(zc_array *a);
ZC_API void *zc_array_data(const zc_array *a);
ZC_API size_t zc_array_nbytes(const zc_array *a);
ZC_API size_t zc_array_size(const zc_array *a);
ZC_API zc_dtype zc_array_dtype(const zc_array *a);
ZC_API int zc_array_ndim(const zc_array *a);
ZC_API const size_t *zc_array_shape(const zc_array *a);

#ifdef __cplusplus
}
#endif
#endif
