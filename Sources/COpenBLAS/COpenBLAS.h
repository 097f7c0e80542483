// The C interfaces of OpenBLAS (CBLAS) and LAPACKE, as one module for Swift.
// Debian: libopenblas-dev and liblapacke-dev; `pkg-config openblas` gives the include path.
#include <cblas.h>
#include <lapacke.h>
