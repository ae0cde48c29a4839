/* strata.h -- the one public C API of Strata.  See docs/c-api.md. */
#ifndef STRATA_H
#define STRATA_H
#include "strata/core.h"
#include "strata/ops.h"
#include "strata/npy.h"
#include "strata/atoms.h"
#include "strata/io.h"
#include "strata/neighbor.h"
#include "strata/desc.h"
#include "strata/entropy.h"
#include "strata/crystal.h"
#include "strata/md.h"
#include "strata/ml.h"
#endif
