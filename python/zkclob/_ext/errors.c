/* Exception types per error class, and the C-to-Python log bridge. */
#include <pthread.h>

#include "ext.h"

static PyObject *error_types[ZC_CLASS_INTERNAL + 1];

static const struct {
    zc_error_class cls;
    const char *name;
    const char *doc;
} classes[] = {
    {ZC_CLASS_INVALID_ARGUMENT, "InvalidArgumentError", "Bad argument: wrong dtype, shape, range or name."},
    {ZC_CLASS_OUT_OF_MEMORY, "OutOfMemoryError", "Host or device memory exhausted."},
    {ZC_CLASS_UNSUPPORTED, "UnsupportedError", "Backend, device or feature unavailable here."},
    {ZC_CLASS_TRANSIENT, "TransientError", "Temporary failure; retries were exhausted."},
    {ZC_CLASS_DEVICE_LOST, "DeviceLostError", "A device failed and no healthy device was left."},
    {ZC_CLASS_INTERNAL, "InternalError", "Internal or backend error."},
};

static PyObject *builtin_base(zc_error_class cls)
{
    switch (cls) {
    case ZC_CLASS_INVALID_ARGUMENT:
        return PyExc_ValueError;
    case ZC_CLASS_OUT_OF_MEMORY:
        return PyExc_MemoryError;
    default:
        return NULL;
    }
}

PyObject *zcpy_raise(zc_status st)
{
    zc_error_info info;
    zc_last_error_info(&info);
    zc_error_class cls = zc_status_class(st);
    if (cls == ZC_CLASS_NONE)
        cls = ZC_CLASS_INTERNAL;
    const char *msg = info.status == st && info.message[0] ? info.message : zc_status_str(st);
    PyObject *exc = PyObject_CallFunction(error_types[cls], "s", msg);
    if (!exc)
        return NULL;
    int same = info.status == st;
    if (PyObject_SetAttrString(exc, "status", PyUnicode_FromString(zc_status_str(st))) < 0 ||
        PyObject_SetAttrString(exc, "code", PyLong_FromLong(st)) < 0 ||
        PyObject_SetAttrString(exc, "error_class", PyUnicode_FromString(zc_error_class_str(cls))) < 0 ||
        PyObject_SetAttrString(exc, "function", PyUnicode_FromString(same ? info.function : "")) < 0 ||
        PyObject_SetAttrString(exc, "backend", PyUnicode_FromString(same ? info.backend : "")) < 0 ||
        PyObject_SetAttrString(exc, "device", PyLong_FromLong(same ? info.device : -1)) < 0) {
        Py_DECREF(exc);
        return NULL;
    }
    PyErr_SetObject(error_types[cls], exc);
    Py_DECREF(exc);
    zcpy_flush_log();
    return NULL;
}

PyObject *zcpy_invalid(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PyObject *msg = PyUnicode_FromFormatV(fmt, ap);
    va_end(ap);
    if (msg) {
        PyErr_SetObject(error_types[ZC_CLASS_INVALID_ARGUMENT], msg);
        Py_DECREF(msg);
    }
    return NULL;
}

/* C log records are queued by whichever thread logs and handed to Python by
 * the thread that holds the GIL, so worker threads never need the GIL. */
#define LOG_QUEUE 256
static struct {
    pthread_mutex_t lock;
    int head, count;
    unsigned dropped;
    struct {
        int level;
        char text[600];
    } rec[LOG_QUEUE];
} logq = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void enqueue_log(zc_log_level level, const char *module, const char *message, void *user)
{
    (void)user;
    pthread_mutex_lock(&logq.lock);
    if (logq.count == LOG_QUEUE) {
        logq.dropped++;
    } else {
        int slot = (logq.head + logq.count) % LOG_QUEUE;
        logq.rec[slot].level = (int)level;
        snprintf(logq.rec[slot].text, sizeof logq.rec[slot].text, "[%s] %s", module, message);
        logq.count++;
    }
    pthread_mutex_unlock(&logq.lock);
}

void zcpy_flush_log(void)
{
    static const int py_levels[] = {40, 30, 20, 10, 5};
    if (logq.count == 0)
        return;
    PyObject *exc_type, *exc_value, *exc_tb;
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    PyObject *logging = PyImport_ImportModule("logging");
    PyObject *logger = logging ? PyObject_CallMethod(logging, "getLogger", "s", "zkclob") : NULL;
    for (;;) {
        int level;
        char text[600];
        pthread_mutex_lock(&logq.lock);
        if (logq.count == 0) {
            pthread_mutex_unlock(&logq.lock);
            break;
        }
        level = logq.rec[logq.head].level;
        memcpy(text, logq.rec[logq.head].text, sizeof text);
        logq.head = (logq.head + 1) % LOG_QUEUE;
        logq.count--;
        pthread_mutex_unlock(&logq.lock);
        if (logger) {
            PyObject *r = PyObject_CallMethod(logger, "log", "is", py_levels[level], text);
            Py_XDECREF(r);
            PyErr_Clear();
        }
    }
    Py_XDECREF(logger);
    Py_XDECREF(logging);
    PyErr_Clear();
    PyErr_Restore(exc_type, exc_value, exc_tb);
}

int zcpy_errors_init(PyObject *module)
{
    PyObject *base = PyErr_NewExceptionWithDoc("zkclob.Error", "Base class of zkclob errors.", NULL, NULL);
    if (!base || PyModule_AddObjectRef(module, "Error", base) < 0)
        return -1;
    error_types[ZC_CLASS_NONE] = base;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++) {
        char qualified[64];
        snprintf(qualified, sizeof qualified, "zkclob.%s", classes[i].name);
        PyObject *extra = builtin_base(classes[i].cls);
        PyObject *bases = extra ? PyTuple_Pack(2, base, extra) : PyTuple_Pack(1, base);
        if (!bases)
            return -1;
        PyObject *t = PyErr_NewExceptionWithDoc(qualified, classes[i].doc, bases, NULL);
        Py_DECREF(bases);
        if (!t || PyModule_AddObjectRef(module, classes[i].name, t) < 0)
            return -1;
        error_types[classes[i].cls] = t;
    }
    zc_log_set_callback(enqueue_log, NULL);
    return 0;
}
