/* DLPack ABI (dlpack.h v0.8, unversioned capsule "dltensor"), shared by the
 * extension's exporters. */
#ifndef ZC_PY_DLPACK_H
#define ZC_PY_DLPACK_H

#include "ext.h"

#include <stdint.h>

typedef struct { int32_t device_type; int32_t device_id; } DLDevice;
typedef struct { uint8_t code; uint8_t bits; uint16_t lanes; } DLDataType;
typedef struct {
    void *data;
    DLDevice device;
    int32_t ndim;
    DLDataType dtype;
    int64_t *shape;
    int64_t *strides;
    uint64_t byte_offset;
} DLTensor;
typedef struct DLManagedTensor {
    DLTensor dl_tensor;
    void *manager_ctx;
    void (*deleter)(struct DLManagedTensor *self);
} DLManagedTensor;
enum { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBool = 6 };
enum { kDLCPU = 1, kDLCUDA = 2, kDLCUDAHost = 3, kDLCUDAManaged = 13 };

/* A consumer renames the capsule to "used_dltensor" and owns the deleter
 * call; an unconsumed capsule releases the tensor itself. */
static inline void zcpy_dlpack_capsule_destructor(PyObject *capsule)
{
    if (PyCapsule_IsValid(capsule, "dltensor")) {
        DLManagedTensor *m = PyCapsule_GetPointer(capsule, "dltensor");
        m->deleter(m);
    }
}

#endif
