/* _zkclob: risk wrappers (VaR/ES, Monte Carlo, scenarios, FFT aggregation).
 * risk.py converts and checks shapes; here arrays must be C-contiguous,
 * aligned float64 (positions: the 40-byte record dtype) and are read in
 * place. Results are new NumPy arrays written by the C calls directly. */
#include "ext.h"

#define NO_IMPORT_ARRAY
#define PY_ARRAY_UNIQUE_SYMBOL zkclob_ARRAY_API
#include <numpy/arrayobject.h>

#include "args.h"

/* obj as a C-contiguous aligned float64 array of ndim dimensions (borrowed);
 * None gives NULL when allowed. -1 with InvalidArgumentError otherwise. */
static int f64_arg(PyObject *obj, const char *name, int ndim, int none_ok, PyArrayObject **out)
{
    *out = NULL;
    if (obj == Py_None && none_ok)
        return 0;
    *out = zcpy_array_arg(obj, NPY_FLOAT64, ndim, ndim, name);
    return *out ? 0 : -1;
}

static const double *f64(PyArrayObject *a) { return a ? (const double *)PyArray_DATA(a) : NULL; }
static size_t dim(PyArrayObject *a, int i) { return (size_t)PyArray_DIM(a, i); }

/* positions: C-contiguous records of sizeof(zc_risk_position) bytes. */
static int positions_arg(PyObject *obj, const zc_risk_position **pos, size_t *npos)
{
    if (!PyArray_Check(obj) || PyArray_TYPE((PyArrayObject *)obj) != NPY_VOID ||
        PyArray_ITEMSIZE((PyArrayObject *)obj) != (npy_intp)sizeof(zc_risk_position) ||
        !PyArray_IS_C_CONTIGUOUS((PyArrayObject *)obj) || !PyArray_ISALIGNED((PyArrayObject *)obj) ||
        PyArray_NDIM((PyArrayObject *)obj) != 1) {
        zcpy_invalid("positions must be a 1-D C-contiguous array of POSITION_DTYPE");
        return -1;
    }
    *pos = PyArray_DATA((PyArrayObject *)obj);
    *npos = (size_t)PyArray_DIM((PyArrayObject *)obj, 0);
    return 0;
}

static PyArrayObject *new_f64(int nd, size_t d0, size_t d1)
{
    npy_intp dims[2] = {(npy_intp)d0, (npy_intp)d1};
    return (PyArrayObject *)PyArray_SimpleNew(nd, dims, NPY_FLOAT64);
}

static double *data(PyArrayObject *a) { return a ? (double *)PyArray_DATA(a) : NULL; }

/* Releases both outputs and raises st (or returns NULL for a NumPy failure). */
static PyObject *fail2(zc_status st, PyArrayObject *a, PyArrayObject *b)
{
    Py_XDECREF(a);
    Py_XDECREF(b);
    return st != ZC_OK ? zcpy_raise(st) : NULL;
}

/* risk_var_es(losses (nrow, n), confidence, device) -> ((var, es), device) */
static PyObject *py_var_es(PyObject *self, PyObject *args)
{
    PyObject *lo;
    double c;
    int device;
    PyArrayObject *l;
    if (!PyArg_ParseTuple(args, "Odi", &lo, &c, &device) || f64_arg(lo, "losses", 2, 0, &l) < 0)
        return NULL;
    PyArrayObject *var = new_f64(1, dim(l, 0), 0), *es = new_f64(1, dim(l, 0), 0);
    if (!var || !es)
        return fail2(ZC_OK, var, es);
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_var_es(&device, f64(l), dim(l, 0), dim(l, 1), c, data(var), data(es));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, var, es);
    zcpy_flush_log();
    return Py_BuildValue("(NN)i", var, es, device);
}

/* risk_historical(pnl (nscen, nasset), weights (nport, nasset) or None,
 * confidence, device) -> ((var, es), device) */
static PyObject *py_historical(PyObject *self, PyObject *args)
{
    PyObject *po, *wo;
    double c;
    int device;
    PyArrayObject *p, *w;
    if (!PyArg_ParseTuple(args, "OOdi", &po, &wo, &c, &device) || f64_arg(po, "pnl", 2, 0, &p) < 0 ||
        f64_arg(wo, "weights", 2, 1, &w) < 0)
        return NULL;
    if (w && dim(w, 1) != dim(p, 1))
        return zcpy_invalid("weights have %zu columns, pnl has %zu assets", dim(w, 1), dim(p, 1));
    size_t nport = w ? dim(w, 0) : dim(p, 1);
    PyArrayObject *var = new_f64(1, nport, 0), *es = new_f64(1, nport, 0);
    if (!var || !es)
        return fail2(ZC_OK, var, es);
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_historical(&device, f64(p), dim(p, 0), dim(p, 1), f64(w), nport, c, data(var), data(es));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, var, es);
    zcpy_flush_log();
    return Py_BuildValue("(NN)i", var, es, device);
}

/* risk_rolling(pnl (nscen, ncol), window, confidence, device)
 * -> ((var, es) of shape (ncol, nwin), device) */
static PyObject *py_rolling(PyObject *self, PyObject *args)
{
    PyObject *po;
    Py_ssize_t window;
    double c;
    int device;
    PyArrayObject *p;
    if (!PyArg_ParseTuple(args, "Ondi", &po, &window, &c, &device) || f64_arg(po, "pnl", 2, 0, &p) < 0)
        return NULL;
    if (window < 1 || (size_t)window > dim(p, 0))
        return zcpy_invalid("window must be in [1, %zu], got %zd", dim(p, 0), window);
    size_t nwin = dim(p, 0) - (size_t)window + 1;
    PyArrayObject *var = new_f64(2, dim(p, 1), nwin), *es = new_f64(2, dim(p, 1), nwin);
    if (!var || !es)
        return fail2(ZC_OK, var, es);
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_rolling(&device, f64(p), dim(p, 0), dim(p, 1), (size_t)window, c, data(var), data(es));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, var, es);
    zcpy_flush_log();
    return Py_BuildValue("(NN)i", var, es, device);
}

/* risk_parametric(w, mean or None, cov, confidence)
 * -> (var, es, sigma, marginal, component) */
static PyObject *py_parametric(PyObject *self, PyObject *args)
{
    PyObject *wo, *mo, *co;
    double c;
    PyArrayObject *w, *m, *cv;
    if (!PyArg_ParseTuple(args, "OOOd", &wo, &mo, &co, &c) || f64_arg(wo, "weights", 1, 0, &w) < 0 ||
        f64_arg(mo, "mean", 1, 1, &m) < 0 || f64_arg(co, "cov", 2, 0, &cv) < 0)
        return NULL;
    size_t n = dim(w, 0);
    if (dim(cv, 0) != n || dim(cv, 1) != n || (m && dim(m, 0) != n))
        return zcpy_invalid("weights (%zu), mean and cov (%zu x %zu) do not match", n, dim(cv, 0), dim(cv, 1));
    PyArrayObject *marg = new_f64(1, n, 0), *comp = new_f64(1, n, 0);
    if (!marg || !comp)
        return fail2(ZC_OK, marg, comp);
    double var, es, sigma;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_parametric(f64(w), f64(m), f64(cv), n, c, &var, &es, &sigma, data(marg), data(comp));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, marg, comp);
    return Py_BuildValue("dddNN", var, es, sigma, marg, comp);
}

/* risk_norm_ppf(p) -> float */
static PyObject *py_norm_ppf(PyObject *self, PyObject *args)
{
    double p, x;
    if (!PyArg_ParseTuple(args, "d", &p))
        return NULL;
    CHECK(zc_risk_norm_ppf(p, &x));
    return PyFloat_FromDouble(x);
}

/* risk_cholesky(cov) -> lower factor */
static PyObject *py_cholesky(PyObject *self, PyObject *args)
{
    PyObject *co;
    PyArrayObject *cv;
    if (!PyArg_ParseTuple(args, "O", &co) || f64_arg(co, "cov", 2, 0, &cv) < 0)
        return NULL;
    if (dim(cv, 0) != dim(cv, 1))
        return zcpy_invalid("cov must be square, got %zu x %zu", dim(cv, 0), dim(cv, 1));
    PyArrayObject *l = new_f64(2, dim(cv, 0), dim(cv, 0));
    if (!l)
        return NULL;
    zc_status st = zc_risk_cholesky(f64(cv), dim(cv, 0), data(l));
    if (st != ZC_OK)
        return fail2(st, l, NULL);
    return (PyObject *)l;
}

/* Market from spot (1-D) and the flags. */
static int market_arg(PyObject *so, int geometric, double horizon, double rate, zc_risk_market *mkt)
{
    PyArrayObject *s;
    if (f64_arg(so, "spot", 1, 0, &s) < 0)
        return -1;
    mkt->spot = f64(s);
    mkt->nasset = dim(s, 0);
    mkt->geometric = geometric;
    mkt->horizon = horizon;
    mkt->rate = rate;
    return 0;
}

/* risk_monte_carlo(spot, mean or None, cov, positions, paths, seed, confidence,
 * geometric, horizon, rate, device, return_losses)
 * -> (var, es, var_lo, var_hi, es_se, mean, std, tail, losses or None, device) */
static PyObject *py_monte_carlo(PyObject *self, PyObject *args)
{
    PyObject *so, *mo, *co, *po;
    unsigned long long paths, seed;
    double c, horizon, rate;
    int geometric, device, want_losses;
    if (!PyArg_ParseTuple(args, "OOOOKKdpddip", &so, &mo, &co, &po, &paths, &seed, &c, &geometric, &horizon, &rate,
                          &device, &want_losses))
        return NULL;
    zc_risk_market mkt;
    PyArrayObject *m, *cv;
    const zc_risk_position *pos;
    size_t npos;
    if (market_arg(so, geometric, horizon, rate, &mkt) < 0 || f64_arg(mo, "mean", 1, 1, &m) < 0 ||
        f64_arg(co, "cov", 2, 0, &cv) < 0 || positions_arg(po, &pos, &npos) < 0)
        return NULL;
    if (dim(cv, 0) != mkt.nasset || dim(cv, 1) != mkt.nasset || (m && dim(m, 0) != mkt.nasset))
        return zcpy_invalid("spot has %zu assets but cov is %zu x %zu (mean must match too)", mkt.nasset,
                            dim(cv, 0), dim(cv, 1));
    if (want_losses && paths > (unsigned long long)NPY_MAX_INTP)
        return zcpy_invalid("%llu paths do not fit an array", paths);
    PyArrayObject *losses = want_losses && paths ? new_f64(1, (size_t)paths, 0) : NULL;
    if (want_losses && paths && !losses)
        return NULL;
    zc_risk_mc_params p = {paths, seed, c};
    zc_risk_mc_result r;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_monte_carlo(&device, &p, &mkt, f64(m), f64(cv), pos, npos, &r, data(losses));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, losses, NULL);
    zcpy_flush_log();
    PyObject *lo = losses ? (PyObject *)losses : Py_NewRef(Py_None);
    return Py_BuildValue("dddddddKNi", r.var, r.es, r.var_lo, r.var_hi, r.es_se, r.mean, r.std,
                         (unsigned long long)r.tail, lo, device);
}

/* risk_mc_scenarios(seed, path0, npaths, mean or None, cov, device) -> (shocks, device) */
static PyObject *py_mc_scenarios(PyObject *self, PyObject *args)
{
    unsigned long long seed, path0;
    Py_ssize_t npaths;
    PyObject *mo, *co;
    int device;
    PyArrayObject *m, *cv;
    if (!PyArg_ParseTuple(args, "KKnOOi", &seed, &path0, &npaths, &mo, &co, &device) ||
        f64_arg(mo, "mean", 1, 1, &m) < 0 || f64_arg(co, "cov", 2, 0, &cv) < 0)
        return NULL;
    size_t n = dim(cv, 0);
    if (dim(cv, 1) != n || (m && dim(m, 0) != n))
        return zcpy_invalid("cov must be square and mean match it, got %zu x %zu", n, dim(cv, 1));
    if (npaths < 1)
        return zcpy_invalid("npaths must be at least 1, got %zd", npaths);
    PyArrayObject *out = new_f64(2, (size_t)npaths, n);
    if (!out)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_mc_scenarios(&device, seed, path0, (size_t)npaths, n, f64(m), f64(cv), data(out));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, out, NULL);
    zcpy_flush_log();
    return Py_BuildValue("Ni", out, device);
}

/* risk_stress(spot, positions, shocks, geometric, horizon, rate, device) -> (pnl, device) */
static PyObject *py_stress(PyObject *self, PyObject *args)
{
    PyObject *so, *po, *sho;
    int geometric, device;
    double horizon, rate;
    if (!PyArg_ParseTuple(args, "OOOpddi", &so, &po, &sho, &geometric, &horizon, &rate, &device))
        return NULL;
    zc_risk_market mkt;
    const zc_risk_position *pos;
    size_t npos;
    PyArrayObject *sh;
    if (market_arg(so, geometric, horizon, rate, &mkt) < 0 || positions_arg(po, &pos, &npos) < 0 ||
        f64_arg(sho, "shocks", 2, 0, &sh) < 0)
        return NULL;
    if (dim(sh, 1) != mkt.nasset)
        return zcpy_invalid("shocks have %zu columns, spot has %zu assets", dim(sh, 1), mkt.nasset);
    PyArrayObject *pnl = new_f64(1, dim(sh, 0), 0);
    if (!pnl)
        return NULL;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_stress(&device, &mkt, pos, npos, f64(sh), dim(sh, 0), data(pnl));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, pnl, NULL);
    zcpy_flush_log();
    return Py_BuildValue("Ni", pnl, device);
}

/* risk_pnl_stats(pnl (nrow, n), probs) -> (stats (nrow, 4), quantiles (nrow, nprob)) */
static PyObject *py_pnl_stats(PyObject *self, PyObject *args)
{
    PyObject *po, *qo;
    PyArrayObject *p, *q;
    if (!PyArg_ParseTuple(args, "OO", &po, &qo) || f64_arg(po, "pnl", 2, 0, &p) < 0 ||
        f64_arg(qo, "quantiles", 1, 0, &q) < 0)
        return NULL;
    PyArrayObject *stats = new_f64(2, dim(p, 0), 4), *quant = new_f64(2, dim(p, 0), dim(q, 0));
    if (!stats || !quant)
        return fail2(ZC_OK, stats, quant);
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_pnl_stats(f64(p), dim(p, 0), dim(p, 1), f64(q), dim(q, 0), data(stats), data(quant));
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, stats, quant);
    return Py_BuildValue("NN", stats, quant);
}

/* risk_aggregate_loss(pmf (ndist, n), lambda or None, m, device) -> (pmf out, tail mass, device) */
static PyObject *py_aggregate_loss(PyObject *self, PyObject *args)
{
    PyObject *po, *lo;
    Py_ssize_t m;
    int device;
    PyArrayObject *p, *l;
    if (!PyArg_ParseTuple(args, "OOni", &po, &lo, &m, &device) || f64_arg(po, "pmf", 2, 0, &p) < 0 ||
        f64_arg(lo, "frequency", 1, 1, &l) < 0)
        return NULL;
    if (l && dim(l, 0) != dim(p, 0))
        return zcpy_invalid("frequency has %zu entries, pmf has %zu distributions", dim(l, 0), dim(p, 0));
    if (m < 1)
        return zcpy_invalid("size must be at least 1, got %zd", m);
    PyArrayObject *out = new_f64(1, (size_t)m, 0);
    if (!out)
        return NULL;
    double tail;
    zc_status st;
    Py_BEGIN_ALLOW_THREADS
    st = zc_risk_aggregate_loss(&device, f64(p), dim(p, 0), dim(p, 1), f64(l), (size_t)m, data(out), &tail);
    Py_END_ALLOW_THREADS
    if (st != ZC_OK)
        return fail2(st, out, NULL);
    zcpy_flush_log();
    return Py_BuildValue("Ndi", out, tail, device);
}

static PyMethodDef risk_methods[] = {
    {"risk_var_es", py_var_es, METH_VARARGS, NULL},
    {"risk_historical", py_historical, METH_VARARGS, NULL},
    {"risk_rolling", py_rolling, METH_VARARGS, NULL},
    {"risk_parametric", py_parametric, METH_VARARGS, NULL},
    {"risk_norm_ppf", py_norm_ppf, METH_VARARGS, NULL},
    {"risk_cholesky", py_cholesky, METH_VARARGS, NULL},
    {"risk_monte_carlo", py_monte_carlo, METH_VARARGS, NULL},
    {"risk_mc_scenarios", py_mc_scenarios, METH_VARARGS, NULL},
    {"risk_stress", py_stress, METH_VARARGS, NULL},
    {"risk_pnl_stats", py_pnl_stats, METH_VARARGS, NULL},
    {"risk_aggregate_loss", py_aggregate_loss, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL}};

int zcpy_risk_init(PyObject *m) { return PyModule_AddFunctions(m, risk_methods); }
