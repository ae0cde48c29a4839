/* Placeholder until the poscar format lands. */
#include "format.h"
const st_format st_format_poscar = {"poscar", "", NULL, NULL, NULL, NULL, NULL, NULL};
