/* Placeholder until the cif format lands. */
#include "format.h"
const st_format st_format_cif = {"cif", "", NULL, NULL, NULL, NULL, NULL, NULL};
