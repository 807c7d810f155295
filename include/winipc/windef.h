/* SPDX-License-Identifier: MIT */
#ifndef _WINDEF_
#define _WINDEF_
#include <minwindef.h>
#include <winnt.h>
#endif
