/* strata/ops.h */
#ifndef STRATA_OPS_H
#define STRATA_OPS_H
#include "core.h"

#endif
