/* SPDX-License-Identifier: MIT */
/* Thread-local variables of the library.
 *
 * The default TLS model of a shared library goes through __tls_get_addr on
 * every access, which showed up in the uncontended wait/release paths (the
 * last error, the thread id). initial-exec reaches the variable through the
 * thread pointer directly. It takes a little of the static TLS space glibc
 * reserves, which is fine for a library linked at start-up (and the few
 * bytes here fit glibc's surplus for a dlopen too). */
#ifndef WINIPC_TLS_H
#define WINIPC_TLS_H

#define WI_THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))

#endif
