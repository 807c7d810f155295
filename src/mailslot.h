/* SPDX-License-Identifier: MIT */
/* Mailslots (mailslot.c): what other files need from them. */
#ifndef WINIPC_MAILSLOT_H
#define WINIPC_MAILSLOT_H

#include "object.h"

extern const struct wi_object_ops wi_mailslot_ops;

/* The client side of CreateFileA/W on "\\.\mailslot\<name>" (file.c routes
 * such names here, and the remote forms "\\<host>\mailslot\<name>").
 * `name_utf8` is the whole name as the caller passed it. `access` is
 * CreateFile's dwDesiredAccess (GENERIC_* mapped here); `share`, the
 * disposition and `flags_and_attrs` have no effect on a mailslot client (see
 * docs/mailslots.md). Errors as Windows: ERROR_FILE_NOT_FOUND (no such
 * mailslot, or its server is gone), ERROR_NOT_SUPPORTED (remote and
 * broadcast names "\\*\mailslot\x", "\\domain\mailslot\x",
 * "\\computer\mailslot\x", and the mailslot root "\\.\mailslot\" itself). */
DWORD wi_mailslot_client_open(const char *name_utf8, DWORD access, const SECURITY_ATTRIBUTES *sa, HANDLE *out);

#endif
