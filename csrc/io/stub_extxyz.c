/* Placeholder until the extxyz format lands. */
#include "format.h"
const st_format st_format_extxyz = {"extxyz", "", NULL, NULL, NULL, NULL, NULL, NULL};
