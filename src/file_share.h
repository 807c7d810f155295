/* SPDX-License-Identifier: MIT */
/* Windows share modes (CreateFile dwShareMode) between every winipc user of
 * a file, in any process, with Linux open-file-description locks.
 *
 * Each CreateFile is one open file description (OFD), as each NtCreateFile
 * is one file object on Windows; handles duplicated or inherited from it
 * share that OFD and so its share access, and the claim ends when the last
 * descriptor of the OFD closes, exactly when Windows releases the share
 * access of a file object.
 *
 * An open claims, as shared (F_RDLCK) OFD locks on single bytes far beyond
 * any real data (see MARK_BASE in file_share.c), markers that say what it
 * does and what it refuses to others:
 *     HAVE_READ, HAVE_WRITE, HAVE_DELETE   the access it was granted
 *     DENY_READ, DENY_WRITE, DENY_DELETE   the sharing it did not grant
 * and then looks (F_OFD_GETLK) for markers of other OFDs that conflict, the
 * rule of IoCheckShareAccess: an open asking for read fails if someone denies
 * read, and an open not sharing read fails if someone has read; the same for
 * write and delete. Opens asking for none of read, write or delete neither
 * check nor claim, as on Windows.
 *
 * Atomicity: claim-then-check alone is safe (two conflicting opens can never
 * both succeed: the later checker sees the earlier claim) but may fail both.
 * So check and claim run under a short exclusive OFD lock on one byte, chosen
 * by hashing (st_dev, st_ino), of a guard file in the global namespace
 * directory (.file-share, mode 0666). Without the guard file (unwritable
 * root) the safe claim-then-check rule still holds.
 *
 * Not bound: programs that do not use winipc, and winipc processes whose
 * WINIPC_ROOT differs only lose the guard (claims still conflict, being on
 * the file itself). A non-winipc program holding a POSIX write lock over the
 * marker bytes (a whole-file lock) makes every winipc open of that file fail
 * with ERROR_SHARING_VIOLATION. */
#ifndef WINIPC_FILE_SHARE_H
#define WINIPC_FILE_SHARE_H

#include <windows.h>
#include <stdbool.h>
#include <sys/stat.h>

/* Check and claim the share access of a new open. `fd` is the open's own
 * descriptor (it must be readable when access involves read, write or
 * delete: shared locks need FMODE_READ); `st` its fstat. Errors:
 * ERROR_SHARING_VIOLATION; ERROR_NOT_SUPPORTED when the fd cannot hold
 * locks. On failure nothing stays claimed. */
DWORD wi_share_claim(int fd, const struct stat *st, DWORD access, DWORD share);

/* Give up the markers of `access` that a claim took for a moment only (an
 * overwriting open checks and holds write access while it truncates, as
 * NTFS adds write access to such an open; afterwards the open keeps only
 * what it asked for). `keep` is the access the open keeps. */
void wi_share_drop(int fd, DWORD access, DWORD keep);

/* Does the open need to claim anything (access asks for read, write or
 * delete)? */
bool wi_share_needed(DWORD access);

/* DeleteFile: fail with ERROR_SHARING_VIOLATION if an open of the file
 * (`fd` is any readable descriptor of it, not itself claiming) did not share
 * delete, else unlink `path`; both under the guard. */
DWORD wi_share_unlink(int fd, const struct stat *st, const char *path);

#endif
