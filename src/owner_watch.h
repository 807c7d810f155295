/* SPDX-License-Identifier: MIT */
/* Watching threads die, for mutex abandonment.
 *
 * A thread is identified by its tid plus its start time (from
 * /proc/<tid>/stat), never by the tid alone: tids are reused. A watch holds
 * a thread pidfd (pidfd_open with PIDFD_THREAD, Linux >= 6.9) registered
 * with the service thread; when the thread exits, the service thread calls
 * each registered callback promptly (microseconds after the death, SIGKILL
 * included). Kernels without PIDFD_THREAD (or WINIPC_NO_PIDFD_THREAD=1) get
 * ERROR_NOT_SUPPORTED, and callers fall back to checking liveness with
 * wi_thread_alive() at a bounded interval. */
#ifndef WINIPC_OWNER_WATCH_H
#define WINIPC_OWNER_WATCH_H

#include "object.h"

#include <sys/types.h>

typedef void (*wi_owner_died_fn)(struct wi_object *obj, pid_t tid, uint64_t start);

/* How often the owner of a watch on a process's main thread is polled. */
#define WI_OWNER_POLL_MS 50

/* Call died(obj, tid, start) when thread (tid, start) is gone. Holds no
 * reference on obj: the object's destroy must call wi_owner_unwatch(), so a
 * watch never keeps an object (or its name) alive. A (tid, start, obj)
 * already watched is not added twice. Returns ERROR_SUCCESS (armed), ERROR_NOT_FOUND (that thread is
 * already gone: nothing armed, the caller handles the death now), or
 * ERROR_NOT_SUPPORTED (no thread pidfds here).
 *
 * A process's main thread can end while its other threads run, and its
 * pidfd fires only with the whole process: for such a watch *leader is set,
 * the caller must sleep at most WI_OWNER_POLL_MS at a time, and *poll_now
 * says when (at most every WI_OWNER_POLL_MS per watch) it should check
 * wi_thread_alive() itself. The leader test is made once per watch. */
DWORD wi_owner_watch(pid_t tid, uint64_t start, struct wi_object *obj, wi_owner_died_fn died, bool *leader,
                     bool *poll_now);

/* Forget every watch subscribed for `obj` (its destroy). */
void wi_owner_unwatch(struct wi_object *obj);

/* Is thread (tid, start) still running? An ended thread not yet reaped (a
 * zombie) is not. */
bool wi_thread_alive(pid_t tid, uint64_t start);

/* Is some thread `tid` running (not ended, not a zombie)? */
bool wi_thread_exists(pid_t tid);

/* Is `tid` the main thread (thread-group leader) of a process? Its thread
 * pidfd only fires when the whole process ends, so a main thread that ends
 * while other threads run is found by polling wi_thread_alive instead. */
bool wi_thread_is_group_leader(pid_t tid);

/* Start time (clock ticks since boot) of thread `tid`, 0 if it is gone. */
uint64_t wi_thread_start_time(pid_t tid);

/* The calling thread's tid and start time, cached per thread. */
pid_t wi_thread_self_tid(void);
uint64_t wi_thread_self_start(void);

#endif
