/* SPDX-License-Identifier: MIT */
/* What virtual_memory.c (VirtualAlloc, VirtualFree, VirtualProtect,
 * VirtualQueryEx) and mapping.c (views of file mappings, VirtualQuery) share.
 *
 * The address-space lock. One mutex guards both files' bookkeeping of the
 * process's address space: mapping.c's view table and virtual_memory.c's
 * region table (VirtualAlloc reservations, and the per-page protections of
 * views that VirtualProtect changed). Windows has one such lock per process
 * too (the address-creation mutex). It is mapping.c's view-table lock, which
 * that file already takes around fork() (pthread_atfork), so the child of a
 * fork never inherits it held. One lock, not two nested ones: two locks
 * taken in a fixed order would need their atfork handlers registered in the
 * opposite order, which lazy registration cannot promise.
 *
 * Every function below is called with the lock held. */
#ifndef WINIPC_VIRTUAL_MEMORY_H
#define WINIPC_VIRTUAL_MEMORY_H

#include <windows.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- provided by mapping.c ------------------------------------------------------- */

void wi_address_space_lock(void);
void wi_address_space_unlock(void);

/* A mapped view as MapViewOfFile made it. */
struct wi_view_info {
    char *base;
    size_t len;       /* whole pages */
    DWORD protect;    /* PAGE_* the view was mapped with (its most permissive) */
    bool file_backed; /* a view of a file's section, not a pagefile-backed one */
};

/* The view containing `addr`, if any. */
bool wi_view_lookup(uintptr_t addr, struct wi_view_info *out);

/* --- provided by virtual_memory.c ---------------------------------------------- */

/* VirtualQuery's answer for pages virtual_memory.c keeps track of: memory
 * from VirtualAlloc, and views whose page protections VirtualProtect (or
 * VirtualAlloc(MEM_COMMIT)) changed. False for any other address. */
bool wi_virtual_query_private(const void *addr, MEMORY_BASIC_INFORMATION *out);

/* mapping.c is about to unmap the view [base, base + len): forget its pages. */
void wi_virtual_view_unmapped(const void *base, size_t len);

#endif
