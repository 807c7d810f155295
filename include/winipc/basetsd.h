/* SPDX-License-Identifier: MIT */
/* The pointer-sized integer types live in minwindef.h; this header exists
 * because ported code includes it by name. */
#ifndef _BASETSD_H_
#define _BASETSD_H_
#include <minwindef.h>
#endif
