/* _zkclob: the CPython extension over libzkclob. Python modules in the
 * zkclob package wrap these functions with argument checking and docs. */
#include "ext.h"

#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

static PyObject *caps_list(uint32_t caps)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{ZC_CAP_FP64, "fp64"},           {ZC_CAP_INT64_ATOMICS, "int64_atomics"},
                 {ZC_CAP_UNIFIED_MEMORY, "unified_memory"}, {ZC_CAP_SVM, "svm"},
                 {ZC_CAP_HOST_SHARED, "host_shared"},       {ZC_CAP_GPU, "gpu"},
                 {ZC_CAP_SSE42, "sse4.2"},                  {ZC_CAP_AVX2, "avx2"},
                 {ZC_CAP_AVX512F, "avx512f"}};
    PyObject *list = PyList_New(0);
    for (size_t i = 0; list && i < sizeof names / sizeof names[0]; i++) {
        if (!(caps & names[i].bit))
            continue;
        PyObject *s = PyUnicode_FromString(names[i].name);
        if (!s || PyList_Append(list, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(s);
    }
    return list;
}

static PyObject *health_dict(int id)
{
    zc_device_health h;
    CHECK(zc_device_health_get(id, &h));
    return Py_BuildValue("{s:s,s:s,s:s,s:K,s:K,s:K,s:K,s:K}", "state", zc_health_str(h.state), "last_status",
                         h.last_status ? zc_status_str(h.last_status) : "", "last_error", h.last_error, "launches",
                         (unsigned long long)h.launches, "errors", (unsigned long long)h.errors, "retries",
                         (unsigned long long)h.retries, "failovers", (unsigned long long)h.failovers, "probes",
                         (unsigned long long)h.probes);
}

static PyObject *py_devices(PyObject *self, PyObject *noargs)
{
    int n = zc_device_count();
    PyObject *list = PyList_New(0);
    for (int i = 0; list && i < n; i++) {
        zc_device_info d;
        if (zc_device_info_get(i, &d) != ZC_OK) {
            Py_DECREF(list);
            return zcpy_raise(ZC_ERR_INTERNAL);
        }
        PyObject *health = health_dict(i);
        PyObject *caps = caps_list(d.caps);
        PyObject *item = NULL;
        if (health && caps)
            item = Py_BuildValue(
                "{s:i,s:s,s:i,s:O,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:I,s:N,s:N}",
                "id", d.id, "backend", zc_backend_name(d.backend), "index", d.backend_index, "available",
                d.available ? Py_True : Py_False, "reason", d.reason, "name", d.name, "vendor", d.vendor,
                "driver_version", d.driver_version, "runtime_version", d.runtime_version, "platform", d.platform,
                "language_version", d.language_version, "extensions", d.extensions, "compute_units",
                d.compute_units, "global_mem_bytes", (unsigned long long)d.global_mem_bytes, "local_mem_bytes",
                (unsigned long long)d.local_mem_bytes, "constant_mem_bytes", (unsigned long long)d.constant_mem_bytes,
                "max_work_group_size", (unsigned long long)d.max_work_group_size, "cache_l1_bytes",
                (unsigned long long)d.cache_l1_bytes, "cache_l2_bytes", (unsigned long long)d.cache_l2_bytes,
                "cache_l3_bytes", (unsigned long long)d.cache_l3_bytes, "threads", d.threads, "caps", caps, "health",
                health);
        else {
            Py_XDECREF(health);
            Py_XDECREF(caps);
        }
        if (!item || PyList_Append(list, item) < 0) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    zcpy_flush_log();
    return list;
}

static PyObject *py_device_health(PyObject *self, PyObject *arg)
{
    int id = PyLong_AsLong(arg);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    return health_dict(id);
}

static PyObject *py_find_device(PyObject *self, PyObject *arg)
{
    const char *spec = PyUnicode_AsUTF8(arg);
    if (!spec)
        return NULL;
    int id;
    CHECK(zc_device_find(spec, &id));
    return PyLong_FromLong(id);
}

static PyObject *py_probe(PyObject *self, PyObject *arg)
{
    int id = PyLong_AsLong(arg);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_device_probe(id);
    Py_END_ALLOW_THREADS
    zcpy_flush_log();
    CHECK(st);
    Py_RETURN_NONE;
}

static PyObject *py_reset_health(PyObject *self, PyObject *arg)
{
    int id = PyLong_AsLong(arg);
    if (id == -1 && PyErr_Occurred())
        return NULL;
    CHECK(zc_device_reset_health(id));
    Py_RETURN_NONE;
}

static PyObject *py_set_threads(PyObject *self, PyObject *args)
{
    int id, n;
    if (!PyArg_ParseTuple(args, "ii", &id, &n))
        return NULL;
    CHECK(zc_device_set_threads(id, n));
    Py_RETURN_NONE;
}

static PyObject *py_version_info(PyObject *self, PyObject *noargs)
{
    zc_build_info b;
    zc_build_info_get(&b);
    int major, minor, patch;
    zc_version_numbers(&major, &minor, &patch);
    PyObject *runtimes = PyDict_New();
    for (int k = 0; runtimes && k < ZC_BACKEND_COUNT; k++) {
        PyObject *v = Py_BuildValue("{s:s,s:s}", "version", zc_backend_runtime_version((zc_backend_kind)k),
                                    "unavailable_reason", zc_backend_unavailable_reason((zc_backend_kind)k));
        if (!v || PyDict_SetItemString(runtimes, zc_backend_name((zc_backend_kind)k), v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(runtimes);
        }
        Py_XDECREF(v);
    }
    if (!runtimes)
        return NULL;
    return Py_BuildValue("{s:s,s:(iii),s:s,s:s,s:s,s:s,s:s,s:N}", "version", b.version, "version_tuple", major,
                         minor, patch, "compiler", b.compiler, "flags", b.flags, "build_type", b.build_type,
                         "backends", b.backends, "sanitizers", b.sanitizers, "runtimes", runtimes);
}

static PyObject *py_philox(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    int variant, output, device;
    unsigned long long k0, k1, c0, c1, c2, c3;
    if (!PyArg_ParseTuple(args, "niiiKKKKKK", &n, &variant, &output, &device, &k0, &k1, &c0, &c1, &c2, &c3))
        return NULL;
    if (n < 0)
        return zcpy_invalid("n must be non-negative, got %zd", n);
    zc_philox_params p = {(zc_philox_variant)variant, {k0, k1}, {c0, c1, c2, c3}};
    zc_dtype dtype = ZC_DTYPE_F64;
    if (output == ZC_RANDOM_RAW)
        dtype = variant == ZC_PHILOX_4X64 ? ZC_DTYPE_U64 : ZC_DTYPE_U32;
    size_t shape[1] = {(size_t)n};
    zc_array *arr;
    CHECK(zc_array_new(dtype, 1, shape, &arr));
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_philox_generate(&device, &p, (zc_random_output)output, zc_array_data(arr), (size_t)n);
    Py_END_ALLOW_THREADS
    return zcpy_device_result(st, arr, device);
}

static PyObject *py_fault_inject(PyObject *self, PyObject *arg)
{
    const char *rules = PyUnicode_AsUTF8(arg);
    if (!rules)
        return NULL;
    CHECK(zc_fault_inject_set(rules));
    Py_RETURN_NONE;
}

static const char *const failover_names[] = {"none", "same_backend", "any"};

static PyObject *py_get_policy(PyObject *self, PyObject *noargs)
{
    zc_policy p;
    zc_policy_get(&p);
    return Py_BuildValue("{s:i,s:I,s:I,s:d,s:s}", "max_retries", p.max_retries, "backoff_initial_us",
                         p.backoff_initial_us, "backoff_max_us", p.backoff_max_us, "backoff_multiplier",
                         p.backoff_multiplier, "failover", failover_names[p.failover]);
}

static PyObject *py_set_policy(PyObject *self, PyObject *args)
{
    zc_policy p;
    long long initial, maximum;
    const char *failover;
    if (!PyArg_ParseTuple(args, "iLLds", &p.max_retries, &initial, &maximum, &p.backoff_multiplier, &failover))
        return NULL;
    if (initial < 0 || maximum < 0 || initial > UINT32_MAX || maximum > UINT32_MAX)
        return zcpy_invalid("backoff times must be in [0, 2^32) microseconds");
    p.backoff_initial_us = (uint32_t)initial;
    p.backoff_max_us = (uint32_t)maximum;
    p.failover = (zc_failover_mode)-1;
    for (int i = 0; i < 3; i++)
        if (strcmp(failover, failover_names[i]) == 0)
            p.failover = (zc_failover_mode)i;
    if ((int)p.failover < 0)
        return zcpy_invalid("failover must be 'none', 'same_backend' or 'any', got '%s'", failover);
    CHECK(zc_policy_set(&p));
    Py_RETURN_NONE;
}

static PyObject *py_init(PyObject *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"num_threads", "plugin_path", "fault_inject", "disable_opencl", "disable_cuda", NULL};
    zc_config cfg = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|izzpp", kwlist, &cfg.num_threads, &cfg.plugin_path,
                                     &cfg.fault_inject, &cfg.disable_opencl, &cfg.disable_cuda))
        return NULL;
    if (cfg.num_threads < 0)
        return zcpy_invalid("num_threads must be >= 0, got %d", cfg.num_threads);
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_init(&cfg);
    Py_END_ALLOW_THREADS
    zcpy_flush_log();
    CHECK(st);
    Py_RETURN_NONE;
}

static PyObject *py_compile(PyObject *self, PyObject *args)
{
    int backend;
    const char *source, *arch = NULL;
    if (!PyArg_ParseTuple(args, "is|z", &backend, &source, &arch))
        return NULL;
    void *bin = NULL;
    size_t bytes = 0;
    char log[8192];
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_backend_compile((zc_backend_kind)backend, source, arch, &bin, &bytes, log, sizeof log);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK) {
        zcpy_raise(st);
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_NormalizeException(&type, &value, &tb);
        if (value)
            PyObject_SetAttrString(value, "log", PyUnicode_DecodeUTF8(log, strlen(log), "replace"));
        PyErr_Restore(type, value, tb);
        return NULL;
    }
    PyObject *r = Py_BuildValue("(y#N)", (const char *)bin, (Py_ssize_t)bytes,
                                PyUnicode_DecodeUTF8(log, strlen(log), "replace"));
    zc_free(bin);
    return r;
}

static PyObject *py_set_log_level(PyObject *self, PyObject *arg)
{
    long level = PyLong_AsLong(arg);
    if (level == -1 && PyErr_Occurred())
        return NULL;
    if (level < ZC_LOG_ERROR || level > ZC_LOG_TRACE)
        return zcpy_invalid("log level must be in [0, 4], got %ld", level);
    zc_log_set_level((zc_log_level)level);
    Py_RETURN_NONE;
}

static PyObject *py_get_log_level(PyObject *self, PyObject *noargs) { return PyLong_FromLong(zc_log_get_level()); }

static PyObject *py_log(PyObject *self, PyObject *args)
{
    int level;
    const char *module, *message;
    if (!PyArg_ParseTuple(args, "iss", &level, &module, &message))
        return NULL;
    if (level < ZC_LOG_ERROR || level > ZC_LOG_TRACE)
        return zcpy_invalid("log level must be in [0, 4], got %d", level);
    zc_log((zc_log_level)level, module, "%s", message);
    zcpy_flush_log();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"devices", py_devices, METH_NOARGS, "All devices (available or not) as dicts."},
    {"device_health", py_device_health, METH_O, "Health and counters of a device id."},
    {"find_device", py_find_device, METH_O, "Resolve a device spec to an id."},
    {"probe", py_probe, METH_O, "Run the known-answer health probe on a device id."},
    {"reset_health", py_reset_health, METH_O, "Clear a device's failed state."},
    {"set_threads", py_set_threads, METH_VARARGS, "Limit the threads of a cpu device (0 = all)."},
    {"version_info", py_version_info, METH_NOARGS, "Library version and build information."},
    {"philox", py_philox, METH_VARARGS, "philox(n, variant, output, device, k0, k1, c0, c1, c2, c3)."},
    {"fault_inject", py_fault_inject, METH_O, "Set fault-injection rules."},
    {"get_policy", py_get_policy, METH_NOARGS, "The retry/failover policy."},
    {"set_policy", py_set_policy, METH_VARARGS, "Set the retry/failover policy."},
    {"init", (PyCFunction)(void (*)(void))py_init, METH_VARARGS | METH_KEYWORDS, "(Re)initialise the library."},
    {"backend_compile", py_compile, METH_VARARGS, "Compile kernel source with a backend's runtime compiler."},
    {"set_log_level", py_set_log_level, METH_O, "Set the C log level (0 error .. 4 trace)."},
    {"get_log_level", py_get_log_level, METH_NOARGS, "The C log level."},
    {"log", py_log, METH_VARARGS, "Emit a record through the C logger."},
    {NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, .m_name = "_zkclob", .m_doc = "zkclob C extension.", .m_size = -1, .m_methods = methods};

PyMODINIT_FUNC PyInit__zkclob(void)
{
    import_array();
    PyObject *m = PyModule_Create(&moduledef);
    if (!m)
        return NULL;
    if (zcpy_errors_init(m) < 0 || zcpy_buffer_init(m) < 0 || zcpy_ntt_init(m) < 0 ||
        zcpy_mem_init(m) < 0 ||
        zcpy_hash_init(m) < 0 ||
        zcpy_book_init(m) < 0 ||
        zcpy_md_init(m) < 0 ||
        zcpy_risk_init(m) < 0 || zcpy_risk_tracker_init(m) < 0 || zcpy_crypto_init(m) < 0 ||
        zcpy_commit_init(m) < 0 || zcpy_pipeline_init(m) < 0 ||
        PyModule_AddIntConstant(m, "PHILOX_4X32", ZC_PHILOX_4X32) < 0 ||
        PyModule_AddIntConstant(m, "PHILOX_4X64", ZC_PHILOX_4X64) < 0 ||
        PyModule_AddIntConstant(m, "RANDOM_RAW", ZC_RANDOM_RAW) < 0 ||
        PyModule_AddIntConstant(m, "RANDOM_UNIFORM", ZC_RANDOM_UNIFORM) < 0 ||
        PyModule_AddIntConstant(m, "RANDOM_NORMAL", ZC_RANDOM_NORMAL) < 0 ||
        PyModule_AddIntConstant(m, "BACKEND_CPU", ZC_BACKEND_CPU) < 0 ||
        PyModule_AddIntConstant(m, "BACKEND_OPENCL", ZC_BACKEND_OPENCL) < 0 ||
        PyModule_AddIntConstant(m, "BACKEND_CUDA", ZC_BACKEND_CUDA) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
