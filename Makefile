# Strata build.  `make` builds the library, the Lua binding, the host and the FFI declarations;
# `make test` runs everything (see tests/run.sh); `make bench`, `make asan`, `make fuzz`,
# `make install PREFIX=...`.  Sources are found by wildcard: a new file in a module folder is
# built without touching this file.
PREFIX   ?= /usr/local
CC       ?= cc
OPT      ?= -O3 -march=native
CFLAGS   ?= $(OPT) -g
SAN      ?=
ALLCFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden -fopenmp -Wall -Wextra -Wno-unused-parameter \
            -Icsrc/include -I$(B)/gen $(shell pkg-config --cflags lua5.4 libxml-2.0) $(SAN) $(CFLAGS)
LIBDEPS   = -lopenblas -lxgboost $(shell pkg-config --libs libxml-2.0) -lz -lm -fopenmp
LUALIBS   = $(shell pkg-config --libs lua5.4)
B         = build
BIN      ?= bin

MODULES  = core io geom desc entropy crystal md ml
LIB_SRC  = $(foreach m,$(MODULES),$(wildcard csrc/$(m)/*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(B)/%.o)
LUA_SRC  = $(wildcard csrc/lua/*.c)
LUA_OBJ  = $(LUA_SRC:%.c=$(B)/%.o)
HOST_SRC = $(wildcard csrc/host/*.c)
HOST_OBJ = $(HOST_SRC:%.c=$(B)/%.o)
HEADERS  = $(wildcard csrc/include/*.h csrc/include/strata/*.h)
CTEST_SRC = $(wildcard tests/c/test_*.c)
CTESTS   = $(CTEST_SRC:tests/c/%.c=$(B)/tests/%)
BENCH_SRC = $(wildcard bench/*.c)
BENCHES  = $(BENCH_SRC:bench/%.c=$(B)/bench/%)

.PHONY: all deps test bench asan fuzz install clean ctests demo examples
all: $(B)/libstrata.a $(B)/libstrata.so $(B)/lua/strata/core.so $(BIN)/strata $(B)/lua/strata/cdef.lua

deps:
	@scripts/deps.sh

$(B)/%.o: %.c $(HEADERS) $(wildcard csrc/*/*.h) $(B)/gen/stl_modules.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -c $< -o $@

# Lua binding modules register themselves with a STL_MODULE(name) line; the list is generated.
$(B)/gen/stl_modules.h: $(LUA_SRC)
	@mkdir -p $(dir $@)
	@grep -ho '^STL_MODULE([a-z_0-9]*)' $(LUA_SRC) | sed 's/STL_MODULE(\(.*\))/X(\1)/' > $@.tmp && mv $@.tmp $@

$(B)/libstrata.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/libstrata.so: $(LIB_OBJ)
	$(CC) -shared -o $@ $^ $(LIBDEPS) $(SAN)

# Loadable by a stock lua5.4 via require "strata.core" (package.cpath = build/lua/?.so).
$(B)/lua/strata/core.so: $(LUA_OBJ) $(B)/libstrata.a
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(LUA_OBJ) $(B)/libstrata.a $(LIBDEPS) $(SAN)

$(BIN)/strata: $(HOST_OBJ) $(LUA_OBJ) $(B)/libstrata.a
	@mkdir -p $(BIN)
	$(CC) -o $@ $(HOST_OBJ) $(LUA_OBJ) $(B)/libstrata.a $(LUALIBS) -ledit $(LIBDEPS) -ldl -Wl,-E $(SAN)

# LuaJIT FFI declarations generated from the public headers.
$(B)/lua/strata/cdef.lua: $(HEADERS)
	@mkdir -p $(dir $@)
	@{ echo '-- generated from csrc/include/strata.h by the Makefile; do not edit'; \
	   echo 'return [==['; $(CC) -E -P -DST_FFI -Icsrc/include csrc/include/strata.h | grep -v '^\s*$$'; \
	   echo ']==]'; } > $@.tmp && mv $@.tmp $@

$(B)/tests/%: tests/c/%.c tests/c/check.h $(B)/libstrata.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/c -o $@ $< $(B)/libstrata.a $(LIBDEPS) $(SAN)

$(B)/bench/%: bench/%.c $(B)/libstrata.a
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -o $@ $< $(B)/libstrata.a $(LIBDEPS)

ctests: $(CTESTS) $(B)/tests/struct_sizes.txt

# Sizes of every complete public struct as C sees them (checked against ffi.sizeof in tests/ffi).
$(B)/tests/struct_sizes.txt: $(HEADERS) $(B)/libstrata.a
	@mkdir -p $(dir $@)
	@{ echo '#include "strata.h"'; echo '#include <stdio.h>'; echo 'int main(void) {'; \
	   $(CC) -E -P -DST_FFI -Icsrc/include csrc/include/strata.h | grep -o '^} *st_[a-z_0-9]* *;' | \
	   sed 's/^} *\(st_[a-z_0-9]*\) *;/printf("\1 %zu\\n", sizeof(\1));/'; echo 'return 0; }'; } > $(B)/gen/struct_sizes.c
	@$(CC) $(ALLCFLAGS) -o $(B)/tests/struct_sizes $(B)/gen/struct_sizes.c && $(B)/tests/struct_sizes > $@

test: deps
	@$(MAKE) --no-print-directory -j2 all ctests
	@tests/run.sh

# The README's main job: a tour of the entropy recipes on structures Strata generates itself.
demo: deps
	@$(MAKE) --no-print-directory -j2 all
	@bin/strata tour --out strata-tour

bench: deps
	@$(MAKE) --no-print-directory all $(BENCHES)
	@bench/run.sh

# The whole suite under AddressSanitizer + UBSan, in a separate build tree.
asan: deps
	@$(MAKE) --no-print-directory -j2 B=build-asan BIN=bin-asan OPT="-O1" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer" all ctests
	@ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 STRATA_BUILD=build-asan \
	  STRATA_BIN=bin-asan/strata tests/run.sh

fuzz: deps
	@tests/fuzz/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/strata \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/share/lua/5.4/strata \
	  $(DESTDIR)$(PREFIX)/lib/lua/5.4/strata $(DESTDIR)$(PREFIX)/share/strata/recipes
	install -m 755 bin/strata $(DESTDIR)$(PREFIX)/bin/strata
	install -m 644 $(B)/libstrata.a $(B)/libstrata.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 csrc/include/strata.h csrc/include/strata_lua.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 csrc/include/strata/*.h $(DESTDIR)$(PREFIX)/include/strata/
	install -m 644 lua/strata/*.lua $(B)/lua/strata/cdef.lua $(DESTDIR)$(PREFIX)/share/lua/5.4/strata/
	install -m 755 $(B)/lua/strata/core.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/strata/core.so
	install -m 644 recipes/*.lua $(DESTDIR)$(PREFIX)/share/strata/recipes/
	sed -e 's|@PREFIX@|$(PREFIX)|g' scripts/strata.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/strata.pc

clean:
	rm -rf build build-asan bin bin-asan
