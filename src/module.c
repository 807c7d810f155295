/* SPDX-License-Identifier: MIT */
/* Modules: GetModuleHandle, GetModuleFileName, GetProcAddress over the
 * dynamic loader.
 *
 * An HMODULE is, as on Windows, the address at which a module's image
 * starts: here the start of a loaded ELF object's lowest PT_LOAD segment
 * (its ELF header). The main program, libwinipc itself and every shared
 * object the loader lists have one. kernel32.dll, kernelbase.dll and
 * advapi32.dll (the DLLs whose functions winipc provides) name libwinipc;
 * in a static link that is the main program.
 *
 * GetProcAddress resolves a name with dlsym and checks that the symbol
 * really lies in the requested module (dlsym on a library handle also
 * searches the library's dependencies). For the main program it searches
 * the global scope (RTLD_DEFAULT). ELF has no ordinals, so an ordinal is
 * never found (ERROR_PROC_NOT_FOUND, as for a missing ordinal on Windows). */
#include "error.h"
#include "unicode.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* A loaded object. */
struct module {
    uintptr_t base; /* the HMODULE */
    char path[PATH_MAX];
    bool main;
};

enum match_by { BY_MAIN, BY_BASE, BY_ADDRESS, BY_NAME };

struct search {
    enum match_by by;
    uintptr_t value;  /* BY_BASE, BY_ADDRESS */
    const char *name; /* BY_NAME: a file name, or a path when it holds '/' */
    int index;
    bool found;
    struct module *out;
};

static uintptr_t image_base(const struct dl_phdr_info *info)
{
    uintptr_t low = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD && info->dlpi_phdr[i].p_vaddr < low)
            low = info->dlpi_phdr[i].p_vaddr;
    if (low == UINTPTR_MAX)
        return 0;
    return info->dlpi_addr + (low & ~(uintptr_t)(getpagesize() - 1));
}

static bool contains(const struct dl_phdr_info *info, uintptr_t addr)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && addr >= start && addr < start + ph->p_memsz)
            return true;
    }
    return false;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static bool exe_path(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0)
        return false;
    buf[n] = 0;
    return true;
}

/* The full path of a loaded object (the loader may hold a relative one). */
static void object_path(const struct dl_phdr_info *info, bool is_main, char *buf, size_t size)
{
    buf[0] = 0;
    if (is_main || !info->dlpi_name || !*info->dlpi_name) {
        exe_path(buf, size);
        return;
    }
    char *real = realpath(info->dlpi_name, NULL);
    const char *p = real ? real : info->dlpi_name;
    size_t n = strlen(p);
    if (n >= size)
        n = size - 1;
    memcpy(buf, p, n);
    buf[n] = 0;
    free(real);
}

static int search_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    struct search *s = arg;
    bool is_main = s->index++ == 0; /* the loader lists the program first */
    uintptr_t base = image_base(info);
    char path[PATH_MAX];
    bool match = false;
    switch (s->by) {
    case BY_MAIN:
        match = is_main;
        break;
    case BY_BASE:
        match = base == s->value;
        break;
    case BY_ADDRESS:
        match = contains(info, s->value);
        break;
    case BY_NAME:
        object_path(info, is_main, path, sizeof path);
        match = path[0] && (strchr(s->name, '/') ? strcmp(path, s->name) == 0
                                                  : strcasecmp(base_name(path), s->name) == 0);
        break;
    }
    if (!match)
        return 0;
    s->out->base = base;
    s->out->main = is_main;
    object_path(info, is_main, s->out->path, sizeof s->out->path);
    s->found = true;
    return 1;
}

static bool find_module(enum match_by by, uintptr_t value, const char *name, struct module *out)
{
    struct search s = {.by = by, .value = value, .name = name, .out = out};
    dl_iterate_phdr(search_cb, &s);
    return s.found;
}

/* libwinipc: the object holding this very function. */
static bool self_module(struct module *m)
{
    return find_module(BY_ADDRESS, (uintptr_t)(void *)self_module, NULL, m);
}

/* The DLL names winipc answers for. Windows appends ".dll" to a name
 * without an extension. */
static bool names_winipc(const char *name)
{
    static const char *const dlls[] = {"kernel32", "kernelbase", "advapi32"};
    for (size_t i = 0; i < sizeof dlls / sizeof dlls[0]; i++) {
        size_t n = strlen(dlls[i]);
        if (strncasecmp(name, dlls[i], n) == 0 && (!name[n] || strcasecmp(name + n, ".dll") == 0))
            return true;
    }
    return false;
}

static DWORD module_handle(const char *name, HMODULE *out)
{
    struct module m;
    bool found;
    if (!name)
        found = find_module(BY_MAIN, 0, NULL, &m);
    else if (names_winipc(name))
        found = self_module(&m);
    else
        found = *name && find_module(BY_NAME, 0, name, &m);
    if (!found)
        return ERROR_MOD_NOT_FOUND;
    *out = (HMODULE)m.base;
    return ERROR_SUCCESS;
}

/* NULL stands for the main program, as on Windows. */
static DWORD module_by_handle(HMODULE h, struct module *m)
{
    bool found = h ? find_module(BY_BASE, (uintptr_t)h, NULL, m) : find_module(BY_MAIN, 0, NULL, m);
    return found ? ERROR_SUCCESS : ERROR_MOD_NOT_FOUND;
}

/* --- Win32 entry points ------------------------------------------------------ */

WINBASEAPI HMODULE WINAPI GetModuleHandleA(LPCSTR lpModuleName)
{
    HMODULE h;
    DWORD err = module_handle(lpModuleName, &h);
    return err ? wi_fail_null(err) : h;
}

WINBASEAPI HMODULE WINAPI GetModuleHandleW(LPCWSTR lpModuleName)
{
    HMODULE h;
    WI_UTF8_ARG(name, lpModuleName);
    DWORD err = WI_UTF8_FAILED(name, lpModuleName) ? ERROR_NOT_ENOUGH_MEMORY : module_handle(name, &h);
    WI_UTF8_FREE(name);
    return err ? wi_fail_null(err) : h;
}

/* Too small a buffer: Windows (since Vista) truncates to nSize - 1
 * characters plus a NUL, returns nSize and sets ERROR_INSUFFICIENT_BUFFER. */
WINBASEAPI DWORD WINAPI GetModuleFileNameA(HMODULE hModule, LPSTR lpFilename, DWORD nSize)
{
    struct module m;
    DWORD err = module_by_handle(hModule, &m);
    if (!err && !m.path[0])
        err = ERROR_MOD_NOT_FOUND;
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    size_t len = strlen(m.path);
    if (lpFilename && len < nSize) {
        memcpy(lpFilename, m.path, len + 1);
        return (DWORD)len;
    }
    if (lpFilename && nSize) {
        memcpy(lpFilename, m.path, nSize - 1);
        lpFilename[nSize - 1] = 0;
    }
    wi_set_last_error(ERROR_INSUFFICIENT_BUFFER);
    return nSize;
}

WINBASEAPI DWORD WINAPI GetModuleFileNameW(HMODULE hModule, LPWSTR lpFilename, DWORD nSize)
{
    struct module m;
    DWORD err = module_by_handle(hModule, &m);
    if (!err && !m.path[0])
        err = ERROR_MOD_NOT_FOUND;
    if (err) {
        wi_set_last_error(err);
        return 0;
    }
    size_t len = wi_utf8_to_wide_buf(m.path, NULL, 0);
    if (lpFilename && len < nSize) {
        wi_utf8_to_wide_buf(m.path, lpFilename, nSize);
        return (DWORD)len;
    }
    if (lpFilename && nSize) {
        wi_utf8_to_wide_buf(m.path, lpFilename, nSize); /* nSize - 1 characters... */
        lpFilename[nSize - 1] = 0;                      /* ...and a NUL */
    }
    wi_set_last_error(ERROR_INSUFFICIENT_BUFFER);
    return nSize;
}

WINBASEAPI FARPROC WINAPI GetProcAddress(HMODULE hModule, LPCSTR lpProcName)
{
    struct module m, where;
    void *sym = NULL;
    /* A "name" below 0x10000 is an ordinal (MAKEINTRESOURCE): ELF has none. */
    if ((uintptr_t)lpProcName < 0x10000) {
        wi_set_last_error(ERROR_PROC_NOT_FOUND);
        return NULL;
    }
    DWORD err = module_by_handle(hModule, &m);
    if (err) {
        wi_set_last_error(err);
        return NULL;
    }
    if (m.main) {
        sym = dlsym(RTLD_DEFAULT, lpProcName);
    } else {
        void *lib = dlopen(m.path, RTLD_LAZY | RTLD_NOLOAD);
        if (lib) {
            sym = dlsym(lib, lpProcName);
            dlclose(lib);
        }
        /* Only the module's own symbols, not its dependencies'. */
        if (sym && (!find_module(BY_ADDRESS, (uintptr_t)sym, NULL, &where) || where.base != m.base))
            sym = NULL;
    }
    if (!sym) {
        wi_set_last_error(ERROR_PROC_NOT_FOUND);
        return NULL;
    }
    return (FARPROC)(uintptr_t)sym;
}
