/* SPDX-License-Identifier: MIT */
/* Every object type's ops table, by type number: used where an object must
 * be rebuilt from its type alone (handle inheritance). One line per type;
 * each type file defines its `wi_<type>_ops`. */
#include "object.h"

extern const struct wi_object_ops wi_event_ops;
extern const struct wi_object_ops wi_mutex_ops;
extern const struct wi_object_ops wi_semaphore_ops;
extern const struct wi_object_ops wi_timer_ops;
extern const struct wi_object_ops wi_mapping_ops;
extern const struct wi_object_ops wi_process_ops;
extern const struct wi_object_ops wi_thread_ops;
extern const struct wi_object_ops wi_pipe_ops;
extern const struct wi_object_ops wi_file_ops;
extern const struct wi_object_ops wi_mailslot_ops;

static const struct wi_object_ops *const all_ops[WI_TYPE_COUNT] = {
    [WI_TYPE_EVENT] = &wi_event_ops,
    [WI_TYPE_MUTEX] = &wi_mutex_ops,
    [WI_TYPE_SEMAPHORE] = &wi_semaphore_ops,
    [WI_TYPE_TIMER] = &wi_timer_ops,
    [WI_TYPE_MAPPING] = &wi_mapping_ops,
    [WI_TYPE_PROCESS] = &wi_process_ops,
    [WI_TYPE_THREAD] = &wi_thread_ops,
    [WI_TYPE_PIPE] = &wi_pipe_ops,
    [WI_TYPE_FILE] = &wi_file_ops,
    [WI_TYPE_MAILSLOT] = &wi_mailslot_ops,
};

const struct wi_object_ops *wi_ops_for_type(enum wi_type type)
{
    return (unsigned)type < WI_TYPE_COUNT ? all_ops[type] : NULL;
}
