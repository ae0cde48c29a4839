/* strata/crystal.h */
#ifndef STRATA_CRYSTAL_H
#define STRATA_CRYSTAL_H
#include "core.h"

#endif
