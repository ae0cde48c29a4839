/* strata/entropy.h */
#ifndef STRATA_ENTROPY_H
#define STRATA_ENTROPY_H
#include "core.h"

#endif
