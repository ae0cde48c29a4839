/* strata/desc.h */
#ifndef STRATA_DESC_H
#define STRATA_DESC_H
#include "core.h"

#endif
