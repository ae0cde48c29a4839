/* strata/neighbor.h */
#ifndef STRATA_NEIGHBOR_H
#define STRATA_NEIGHBOR_H
#include "core.h"

#endif
