/* Placeholder until the lammps_data format lands. */
#include "format.h"
const st_format st_format_lammps_data = {"lammps-data", "", NULL, NULL, NULL, NULL, NULL, NULL};
