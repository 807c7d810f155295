/* SPDX-License-Identifier: MIT */
/* SECURITY_ATTRIBUTES as the object-creating calls see it. */
#ifndef WINIPC_SECURITY_H
#define WINIPC_SECURITY_H

#include <windows.h>
#include <stdbool.h>

/* Check `sa` and report what it asks for: *flags gets HANDLE_FLAG_INHERIT
 * when bInheritHandle is set; *world is true when the descriptor opens the
 * object to every user (a NULL DACL). A NULL sa or a NULL descriptor means
 * the default: the creating user only. */
DWORD wi_sa_parse(const SECURITY_ATTRIBUTES *sa, DWORD *flags, bool *world);

#endif
