/* Placeholder until the vasprun format lands. */
#include "format.h"
const st_format st_format_vasprun = {"vasprun", "", NULL, NULL, NULL, NULL, NULL, NULL};
