/* _zkclob: risk_tracker wrappers. */
#include "ext.h"

static PyMethodDef risk_tracker_methods[] = {
    {NULL, NULL, 0, NULL}};

int zcpy_risk_tracker_init(PyObject *m) { return PyModule_AddFunctions(m, risk_tracker_methods); }
