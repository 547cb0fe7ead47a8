/* libFuzzer target: arbitrary bytes as an ELF image (ps_elf_open_mem), then lookups with
 * DWARF inline frames and lines, and the demanglers on the symbol-name bytes. Crashes
 * found are kept in tests/data/elf-crashes/ and replayed by tests/unit/test_elf.c.
 *   clang -O1 -g -std=gnu11 -D_GNU_SOURCE -I. -fsanitize=fuzzer,address,undefined \
 *     fuzz/fuzz_elf.c symbolize/ps_elf.c symbolize/ps_demangle.c formats/ps_util.c \
 *     formats/ps_error.c $(pkg-config --cflags --libs libelf libdw zlib) -llzma -liberty */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "symbolize/ps_elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* libelf may keep pointers into the image: give it a private, aligned copy. */
	void *img = malloc(size ? size : 1);
	if (!img)
		return 0;
	memcpy(img, data, size);
	ps_elf *e = NULL;
	if (ps_elf_open_mem(&e, img, size, PS_ELF_DEMANGLE | PS_ELF_INLINE | PS_ELF_LINES) == 0) {
		ps_elf_frame fr[PS_ELF_MAX_INLINE];
		uint64_t v;
		ps_elf_offset_to_vaddr(e, 0x1000, &v);
		size_t idlen;
		ps_elf_build_id(e, &idlen);
		for (uint64_t a = 0; a < 0x20000; a += 0x7f)
			ps_elf_lookup(e, a, fr, PS_ELF_MAX_INLINE);
		ps_elf_lookup(e, UINT64_MAX, fr, PS_ELF_MAX_INLINE);
		ps_elf_free(e);
	}
	/* The same bytes as a symbol name: v0 and legacy/C++ demangling. */
	if (size < 4096) {
		char name[4100], out[8192];
		memcpy(name, "_R", 2);
		memcpy(name + 2, data, size);
		name[size + 2] = '\0';
		ps_demangle_rust_v0(name, out, sizeof(out));
		ps_demangle(name + 2, out, sizeof(out));
	}
	free(img);
	return 0;
}
