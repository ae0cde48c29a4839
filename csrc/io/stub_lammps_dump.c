/* Placeholder until the lammps_dump format lands. */
#include "format.h"
const st_format st_format_lammps_dump = {"lammps-dump", "", NULL, NULL, NULL, NULL, NULL, NULL};
