/* SPDX-License-Identifier: MIT */
/* Thread objects (thread.c). */
#ifndef WINIPC_THREAD_H
#define WINIPC_THREAD_H

#include "object.h"

extern const struct wi_object_ops wi_thread_ops;

#endif
