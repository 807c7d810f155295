/* SPDX-License-Identifier: MIT */
/* File mappings (mapping.c): what other files need from them. */
#ifndef WINIPC_MAPPING_H
#define WINIPC_MAPPING_H

#include "object.h"

/* The size of the section whose state file `fd` refers to (a descriptor from
 * wi_namespace_walk), for introspection. ERROR_INVALID_HANDLE when the file
 * is not a section of this layout. */
DWORD wi_mapping_section_size(int fd, uint64_t *size);

#endif
