/* SPDX-License-Identifier: MIT */
/* What a winipc parent hands its child beyond argv and the environment
 * (inherit.c): the start block.
 *
 * The start block is a memfd whose descriptor number the child finds in the
 * environment variable WINIPC_START. It holds the exact command line
 * (GetCommandLine), the STARTUPINFO fields (GetStartupInfo), the number of a
 * second memfd holding the child's exit record (process.h), and the table
 * of inherited handles: for each, its value, type, access, flags, the fds
 * its type exported and a small blob. Every fd the table names is passed
 * to the child at the same number (not close-on-exec in the child only).
 *
 * In the child, a library constructor reads the block, removes
 * WINIPC_START from the environment (so grandchildren never see a stale
 * value), rebuilds each object through its type's import op and inserts it
 * at the parent's handle value. A child that does not link winipc simply
 * keeps the fds open until it exits, which keeps named objects alive as an
 * inherited handle does on Windows. */
#ifndef WINIPC_INHERIT_H
#define WINIPC_INHERIT_H

#include "object.h"
#include "process.h"

#define WI_START_ENV "WINIPC_START"

struct wi_start_request {
    const char *cmdline;      /* as GetCommandLine shall return it in the child */
    const STARTUPINFOA *si;   /* strings in UTF-8 */
    bool inherit_handles;     /* bInheritHandles */
    uint64_t exe_dev, exe_ino; /* the program: a process running another program
                                  (a shell in between) takes only the handles */
};

struct wi_start_block {
    int fd;                        /* the block itself */
    int record_fd;                 /* the exit record's memfd */
    struct wi_exit_record *record; /* record_fd mapped */
    int *fds;                      /* every fd the child must receive, all >= 3:
                                      the handles' first, then fd and record_fd */
    unsigned nfds;
    unsigned nexported;            /* how many of fds are the handles' */
};

/* Build a start block in the parent. All fds are close-on-exec here; the
 * spawn clears that flag in the child only. Fails with the first export
 * error (ERROR_NOT_SUPPORTED for a handle type that cannot cross). */
DWORD wi_start_block_build(const struct wi_start_request *req, struct wi_start_block *out);

/* Close the block's fds in the parent. record_fd and record stay unless
 * the caller set them to -1/NULL after taking them over. */
void wi_start_block_close(struct wi_start_block *b);

/* What this process's winipc parent passed (for environment.c). */
struct wi_start_info {
    bool from_parent; /* started by winipc's CreateProcess */
    char *cmdline;    /* exact command line, NULL otherwise */
    STARTUPINFOA si;  /* cb set; zeroes when not from a parent */
};
const struct wi_start_info *wi_start_info(void);

/* Move `fd` to a number >= 3, close-on-exec (closing the original).
 * Returns the new fd or -1 with errno set. */
int wi_fd_above_std(int fd);

#endif
