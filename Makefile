# SPDX-License-Identifier: MIT
# winipc — one non-recursive GNU Makefile.
#
#   make                 libwinipc.so (versioned soname) and libwinipc.a
#   make check           build and run the test suite under prove
#   make check SAN=1     the same under AddressSanitizer + UBSan (build-san/)
#   make bench           benchmarks: winipc vs the raw Linux primitive
#   make demo            the example programs across processes
#   make install PREFIX=/usr/local DESTDIR=
#   make uninstall | clean | check-wine
#   V=1                  show full commands

VERSION_MAJOR := 0
VERSION := 0.1.0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

CC ?= cc
CXX ?= c++
ifeq ($(origin CC),default)
CC := gcc
endif
ifeq ($(origin CXX),default)
CXX := g++
endif

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD ?= build
SANFLAGS :=
endif

OPT ?= -O2 -g
WARN := -Wall -Wextra -Wno-unused-parameter
CPPFLAGS_ALL := -D_GNU_SOURCE -Iinclude/winipc -Isrc $(CPPFLAGS)
CFLAGS_ALL := -std=c11 $(OPT) $(WARN) -fvisibility=hidden -pthread $(SANFLAGS) $(CFLAGS)
LDFLAGS_ALL := -pthread $(SANFLAGS) $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS := $(wildcard src/*.c)
LIB_PIC_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/pic/%.o)
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
SONAME := libwinipc.so.$(VERSION_MAJOR)
SHLIB := $(BUILD)/libwinipc.so.$(VERSION)
STLIB := $(BUILD)/libwinipc.a

TEST_SRCS := $(wildcard tests/*.c)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)

# Programs link the shared library from the build tree.
PROG_LINK = -L$(BUILD) -lwinipc -Wl,-rpath,'$$ORIGIN/..'

.PHONY: all check bench demo install uninstall clean check-wine tools
all: $(SHLIB) $(STLIB) $(BUILD)/libwinipc.so

$(BUILD)/pic/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -fPIC -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

$(SHLIB): $(LIB_PIC_OBJS) src/winipc.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/winipc.map -Wl,-z,defs \
		-o $@ $(LIB_PIC_OBJS) $(LDFLAGS_ALL)

$(BUILD)/libwinipc.so: $(SHLIB)
	$(Q)ln -sf libwinipc.so.$(VERSION) $(BUILD)/$(SONAME)
	$(Q)ln -sf libwinipc.so.$(VERSION) $@

$(STLIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/%: tests/%.c tests/test.h $(BUILD)/libwinipc.so
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP $< -o $@ $(PROG_LINK) $(LDFLAGS_ALL)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libwinipc.so
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP $< -o $@ $(PROG_LINK) $(LDFLAGS_ALL)

$(BUILD)/examples/%: examples/%.c $(BUILD)/libwinipc.so
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP $< -o $@ $(PROG_LINK) $(LDFLAGS_ALL)

$(BUILD)/tools/%: tools/%.c $(BUILD)/libwinipc.so
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_ALL) $(CFLAGS_ALL) -MMD -MP $< -o $@ $(PROG_LINK) $(LDFLAGS_ALL)

check: all $(TEST_BINS) $(TOOL_BINS)
	@tests/run-suite $(BUILD) $(TEST_BINS)

bench: all $(BENCH_BINS)
	@bench/run $(BUILD)

demo: all $(EXAMPLE_BINS)
	@examples/run-demo $(BUILD)

tools: $(TOOL_BINS)

# The same tests built by winegcc and run under Wine: a cross-check of what
# Windows returns. Not part of CI.
check-wine:
	@tests/run-wine $(TEST_SRCS)

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/winipc $(DESTDIR)$(LIBDIR)/pkgconfig \
		$(DESTDIR)$(LIBDIR)/cmake/winipc
	install -m 644 include/winipc/*.h $(DESTDIR)$(INCLUDEDIR)/winipc/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libwinipc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf libwinipc.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libwinipc.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
		-e 's|@VERSION@|$(VERSION)|g' winipc.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/winipc.pc
	sed -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		cmake/winipc-config.cmake.in > $(DESTDIR)$(LIBDIR)/cmake/winipc/winipc-config.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' cmake/winipc-config-version.cmake.in \
		> $(DESTDIR)$(LIBDIR)/cmake/winipc/winipc-config-version.cmake
	$(if $(TOOL_BINS),$(MAKE) tools && install -d $(DESTDIR)$(BINDIR) && \
		for t in $(TOOL_BINS); do install -m 755 $$t $(DESTDIR)$(BINDIR)/; done)
	install -d $(DESTDIR)$(MANDIR)/man1
	install -m 644 docs/winipc.1 $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/winipc $(DESTDIR)$(LIBDIR)/cmake/winipc
	rm -f $(DESTDIR)$(LIBDIR)/libwinipc.so* $(DESTDIR)$(LIBDIR)/libwinipc.a \
		$(DESTDIR)$(LIBDIR)/pkgconfig/winipc.pc
	$(foreach t,$(TOOL_BINS),rm -f $(DESTDIR)$(BINDIR)/$(notdir $(t));)
	rm -f $(DESTDIR)$(MANDIR)/man1/winipc.1

clean:
	rm -rf build build-san build-clang

-include $(wildcard $(BUILD)/pic/*.d $(BUILD)/obj/*.d $(BUILD)/tests/*.d $(BUILD)/bench/*.d $(BUILD)/examples/*.d \
	$(BUILD)/tools/*.d)
