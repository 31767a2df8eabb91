# mcp-proxy: one non-recursive GNU Makefile.
#   make            build the binaries into build/
#   make check      install test deps, build with ASan+UBSan into build/check, run every test
#   make run        build and start hub + front on 127.0.0.1 with the demo config
#   make bench      latency/throughput/RSS against the direct stdio round trip
#   make soak       every fault at once for SOAK_SECONDS (300) under ASan+UBSan, then a table
#   make install    PREFIX, DESTDIR, BINDIR, MANDIR, SYSCONFDIR, SYSTEMDSYSTEMUNITDIR
#   make deb        the Debian package (debian/), into build/deb/

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/bin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
PKG_CONFIG ?= pkg-config
CC         ?= cc
BUILD      ?= build
SYSTEMDSYSTEMUNITDIR ?= $(shell $(PKG_CONFIG) --define-variable=rootprefix=$(PREFIX) --variable=systemdsystemunitdir systemd 2>/dev/null || echo $(PREFIX)/lib/systemd/system)
SYSUSERSDIR ?= $(shell $(PKG_CONFIG) --define-variable=prefix=$(PREFIX) --variable=sysusersdir systemd 2>/dev/null || echo $(PREFIX)/lib/sysusers.d)
BASHCOMPDIR ?= $(shell $(PKG_CONFIG) --define-variable=prefix=$(PREFIX) --variable=completionsdir bash-completion 2>/dev/null || echo $(PREFIX)/share/bash-completion/completions)
TMPFILESDIR ?= $(shell $(PKG_CONFIG) --define-variable=prefix=$(PREFIX) --variable=tmpfilesdir systemd 2>/dev/null || echo $(PREFIX)/lib/tmpfiles.d)

VERSION := 0.1.0

WARNINGS := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wmissing-declarations -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wvla \
	-Wimplicit-fallthrough -Wno-unused-parameter
ifeq ($(CI),true)
WARNINGS += -Werror
endif
ifneq ($(WERROR),)
WARNINGS += -Werror
endif

OPT ?= -O2 -g
HARDEN := -fstack-protector-strong -fPIE
HARDEN_LD := -pie -Wl,-z,relro,-z,now
ifeq ($(SANITIZE),)
HARDEN += -D_FORTIFY_SOURCE=3
else
SAN := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

PC_FRONT := libcjson
PC_HUB   := libsystemd libcjson libcurl
CFLAGS_FRONT := $(shell $(PKG_CONFIG) --cflags $(PC_FRONT))
LIBS_FRONT   := $(shell $(PKG_CONFIG) --libs $(PC_FRONT))
CFLAGS_HUB   := $(shell $(PKG_CONFIG) --cflags $(PC_HUB))
# libcurl is dlopen()ed when a remote upstream needs it (src/hub/curl-dl.c): headers only.
LIBS_HUB     := $(shell $(PKG_CONFIG) --libs libsystemd libcjson) -ldl

ALL_CPPFLAGS := -D_GNU_SOURCE -DVERSION='"$(VERSION)"' -Isrc -Isrc/shared $(CPPFLAGS)
ALL_CFLAGS   := -std=gnu17 $(OPT) $(WARNINGS) $(HARDEN) $(SAN) -MMD -MP $(CFLAGS_HUB) $(CFLAGS)
ALL_LDFLAGS  := $(HARDEN_LD) $(SAN) -Wl,--as-needed $(LDFLAGS)

# Modules that never touch a socket or the loop: unit-tested and fuzzed alone. The hub's
# pure parts (PURE_SRC) live beside the code that uses them but are built in here too.
PURE_SRC   := src/hub/cursor.c src/hub/naming.c src/hub/prom.c src/hub/sealed-id.c \
	src/upstream/turns.c
COMMON_SRC := $(wildcard src/shared/*.c src/http/*.c src/auth/*.c src/config/*.c src/proto/*.c) \
	$(PURE_SRC)
FRONT_SRC  := $(wildcard src/front/*.c)
HUB_SRC    := $(filter-out $(PURE_SRC),$(wildcard src/hub/*.c src/upstream/*.c))
CTL_SRC    := $(wildcard src/ctl/*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ := $(call obj,$(COMMON_SRC))
FRONT_OBJ  := $(call obj,$(FRONT_SRC))
HUB_OBJ    := $(call obj,$(HUB_SRC))

UNIT_SRC   := $(wildcard tests/unit/test-*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_SRC   := $(filter-out tests/fuzz/fuzz-main.c,$(wildcard tests/fuzz/fuzz-*.c))
FUZZ_REPLAY:= $(patsubst tests/fuzz/%.c,$(BUILD)/tests/%-replay,$(FUZZ_SRC))
FIXTURE_SRC:= $(wildcard tests/fixtures/*.c)
FIXTURE_BIN:= $(patsubst tests/fixtures/%.c,$(BUILD)/tests/%,$(FIXTURE_SRC))
BENCH_SRC  := $(wildcard bench/*.c)
BENCH_BIN  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

BINS := $(BUILD)/mcp-proxy $(BUILD)/mcp-proxy-hub $(BUILD)/mcp-proxyctl

.PHONY: all check unit e2e run bench soak install uninstall clean fuzz lint format deps test-deps \
	tests deb print-common-src
all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# The front links cJSON and libc only: never libcurl, not even libsystemd (its 7
# dependent libraries cost exec time at every connection; DESIGN.md).
$(BUILD)/mcp-proxy: $(FRONT_OBJ) $(BUILD)/libcommon.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_FRONT)

$(BUILD)/mcp-proxy-hub: $(HUB_OBJ) $(BUILD)/libcommon.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_HUB)

# The admin CLI: libc and cJSON, like the front.
$(BUILD)/mcp-proxyctl: $(call obj,$(CTL_SRC)) $(BUILD)/libcommon.a
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_FRONT)

$(BUILD)/tests/test-%: $(BUILD)/tests/unit/test-%.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_FRONT)

$(BUILD)/tests/fuzz-%-replay: $(BUILD)/tests/fuzz/fuzz-%.o $(BUILD)/tests/fuzz/fuzz-main.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_FRONT)

$(BUILD)/tests/%: $(BUILD)/tests/fixtures/%.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_FRONT)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_FRONT) -lpthread

tests: $(BINS) $(UNIT_BIN) $(FUZZ_REPLAY) $(FIXTURE_BIN)

# ---- setup on a fresh Debian 12 ----
deps:
	@.ci/deps.sh build
test-deps:
	@.ci/deps.sh test

# ---- tests ----
CHECK_BUILD := build/check
check: test-deps
	$(MAKE) BUILD=$(CHECK_BUILD) SANITIZE=address,undefined OPT="-O1 -g" tests
	BUILD=$(CHECK_BUILD) tests/run-all.sh

unit: tests
	BUILD=$(BUILD) tests/run-all.sh unit

e2e: tests
	BUILD=$(BUILD) tests/run-all.sh e2e

lint:
	@.ci/lint.sh

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

# ---- run and bench ----
run: deps
	$(MAKE) all
	@config/demo-run.sh

bench: deps test-deps
	$(MAKE) all $(BENCH_BIN) $(FIXTURE_BIN)
	BUILD=$(BUILD) bench/run.sh

fuzz:
	@FUZZ_SOURCES="$(COMMON_SRC)" tests/fuzz/run.sh

print-common-src:
	@echo $(COMMON_SRC)

# The soak (tests/soak/soak.sh lists its knobs); make check runs a 60 s one (e2e-soak).
# Its logs are kept: the run's directory is printed at the end.
SOAK_SECONDS ?= 300
soak: test-deps
	$(MAKE) BUILD=$(CHECK_BUILD) SANITIZE=address,undefined OPT="-O1 -g" tests
	BUILD=$(CHECK_BUILD) SOAK_SECONDS=$(SOAK_SECONDS) E2E_KEEP=1 tests/soak/soak.sh

# ---- units: systemd/*.in with the install paths filled in (at every install: the paths
# are the install's) ----
UNIT_IN    := $(wildcard systemd/*.in)
UNIT_NAMES := $(filter-out %.sysusers %.tmpfiles,$(patsubst systemd/%.in,%,$(UNIT_IN)))
SUBST       = sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g'

# ---- install ----
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(BUILD)/mcp-proxy $(BUILD)/mcp-proxy-hub $(BUILD)/mcp-proxyctl $(DESTDIR)$(BINDIR)/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -d $(DESTDIR)$(SYSCONFDIR)/mcp-proxy
	test -e $(DESTDIR)$(SYSCONFDIR)/mcp-proxy/mcp_config.json || \
		install -m 0644 config/mcp_config.example.json $(DESTDIR)$(SYSCONFDIR)/mcp-proxy/mcp_config.json
	install -d $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	for u in $(UNIT_NAMES); do $(SUBST) systemd/$$u.in >$(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/$$u || exit 1; done
	$(SUBST) systemd/mcp-proxy.sysusers.in >$(DESTDIR)$(SYSUSERSDIR)/mcp-proxy.conf
	$(SUBST) systemd/mcp-proxy.tmpfiles.in >$(DESTDIR)$(TMPFILESDIR)/mcp-proxy.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/mcp-proxy/mcp-proxy.env || \
		install -m 0640 config/mcp-proxy.env $(DESTDIR)$(SYSCONFDIR)/mcp-proxy/mcp-proxy.env
	test -e $(DESTDIR)$(SYSCONFDIR)/mcp-proxy/hub.env || \
		install -m 0600 config/hub.env $(DESTDIR)$(SYSCONFDIR)/mcp-proxy/hub.env
	install -d $(DESTDIR)$(BASHCOMPDIR)
	install -m 0644 config/mcp-proxyctl.bash $(DESTDIR)$(BASHCOMPDIR)/mcp-proxyctl

# ---- the Debian package: dpkg-buildpackage writes beside the tree; the files are moved
# into build/deb/ (DEB_BUILD_OPTIONS=nocheck skips the unit tests it runs) ----
DEB_VERSION = $(shell dpkg-parsechangelog -S Version 2>/dev/null)
DEB_ARCH    = $(shell dpkg --print-architecture 2>/dev/null)
deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
		{ echo "make deb needs dpkg-dev and debhelper (.ci/deps.sh test installs them)" >&2; exit 1; }
	dpkg-buildpackage -us -uc -b
	@mkdir -p build/deb
	mv ../mcp-proxy_$(DEB_VERSION)_$(DEB_ARCH).deb ../mcp-proxy_$(DEB_VERSION)_$(DEB_ARCH).buildinfo \
		../mcp-proxy_$(DEB_VERSION)_$(DEB_ARCH).changes build/deb/
	@ls ../mcp-proxy-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb >/dev/null 2>&1 && \
		mv ../mcp-proxy-dbgsym_$(DEB_VERSION)_$(DEB_ARCH).deb build/deb/ || true
	@echo "build/deb/mcp-proxy_$(DEB_VERSION)_$(DEB_ARCH).deb"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mcp-proxy $(DESTDIR)$(BINDIR)/mcp-proxy-hub $(DESTDIR)$(BINDIR)/mcp-proxyctl
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard man/*.8)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man5/,$(notdir $(wildcard man/*.5)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man7/,$(notdir $(wildcard man/*.7)))
	rm -f $(addprefix $(DESTDIR)$(SYSTEMDSYSTEMUNITDIR)/,$(UNIT_NAMES))
	rm -f $(DESTDIR)$(SYSUSERSDIR)/mcp-proxy.conf $(DESTDIR)$(TMPFILESDIR)/mcp-proxy.conf
	rm -f $(DESTDIR)$(BASHCOMPDIR)/mcp-proxyctl

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
