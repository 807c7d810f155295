/* SPDX-License-Identifier: MIT */
/* Windows command lines (cmdline.c): one string that the child's C runtime
 * splits into argv. Linux passes argv itself, so CreateProcess splits the
 * string here exactly as the Microsoft C runtime would ("Parsing C++
 * command-line arguments" in Microsoft's C++ documentation), and
 * GetCommandLine rebuilds a string from argv for processes that were not
 * started by winipc. */
#ifndef WINIPC_CMDLINE_H
#define WINIPC_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* Split `cmdline` into a NULL-terminated argv (one malloc'ed block: free()
 * the array only). argv[0] follows the program-name rule (quotes group,
 * no backslash escapes); later arguments follow the full rules. NULL on
 * allocation failure. */
char **wi_cmdline_to_argv(const char *cmdline, int *argc);

/* The program name as argv[0] reads it (malloc'ed), with *quoted set when
 * the token contained a double quote. */
char *wi_cmdline_program(const char *cmdline, bool *quoted);

/* The inverse: a command line that wi_cmdline_to_argv splits back into
 * exactly `argv` (argv[0] by the program-name rule). Malloc'ed. */
char *wi_cmdline_from_argv(char *const *argv, int argc);

/* Length of a UTF-8 string in UTF-16 code units, the unit of Windows'
 * command-line limit. */
size_t wi_cmdline_utf16_len(const char *s);

#endif
