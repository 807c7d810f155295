/* SPDX-License-Identifier: MIT */
/* What the in-process synchronization files share: critical_section.c lends
 * condition_variable.c a way to drop and retake a section whatever its
 * recursion depth, and tells the spinning locks whether spinning can help.
 *
 * All of these objects live in memory the program owns (a CRITICAL_SECTION,
 * SRWLOCK, CONDITION_VARIABLE, INIT_ONCE or WaitOnAddress target). Windows
 * documents each as usable by the threads of one process only, so they sleep
 * with the process-private futex operations of futex.c. Their fields are
 * accessed with the compiler's __atomic builtins because the public structs
 * declare plain LONG / HANDLE / PVOID fields, not C11 _Atomic ones. */
#ifndef WINIPC_SYNC_LOCAL_H
#define WINIPC_SYNC_LOCAL_H

#include <windows.h>
#include <stdbool.h>

/* True when the machine has more than one online CPU: spinning on a lock
 * held by a thread that cannot run meanwhile only wastes the time slice, so
 * on one CPU spin counts are set to 0, as Windows does. Probed once. */
bool wi_sync_spinning_helps(void);

/* For SleepConditionVariableCS. If the calling thread owns `cs`, release it
 * completely (whatever its recursion depth) and return that depth; return 0
 * and leave the section alone if the caller does not own it. */
LONG wi_critical_section_leave_all(CRITICAL_SECTION *cs);

/* Take `cs` again after wi_critical_section_leave_all() and restore the
 * recursion depth it returned. */
void wi_critical_section_enter_again(CRITICAL_SECTION *cs, LONG depth);

#endif
