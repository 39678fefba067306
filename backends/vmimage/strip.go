package vmimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// StripELF returns a 64-bit little-endian ELF executable without what
// follows its last loaded byte (the symbol table and the debug sections)
// and without its section headers' place, which neither the kernel nor
// the dynamic loader reads. The guest's kernel copies every byte of the
// initramfs at boot (about 12 ms per MB under emulation), and a Go
// launcher carries several MB of them. Anything else (not ELF, 32-bit,
// big-endian, nothing after the loaded bytes, or an allocated section
// beyond them) comes back unchanged.
func StripELF(b []byte) []byte {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil || f.Class != elf.ELFCLASS64 || f.Data != elf.ELFDATA2LSB {
		return b
	}
	end := uint64(0)
	for _, p := range f.Progs {
		end = max(end, p.Off+p.Filesz)
	}
	if end == 0 || end >= uint64(len(b)) {
		return b
	}
	// Every section that holds file bytes must lie inside the kept part.
	for _, s := range f.Sections {
		if s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_ALLOC != 0 && s.Offset+s.FileSize > end {
			return b
		}
	}
	out := append([]byte(nil), b[:end]...)
	// No section headers (the Go linker writes them among the loaded
	// bytes, where they stay, unused): e_shoff, e_shnum and e_shstrndx
	// are zero.
	binary.LittleEndian.PutUint64(out[0x28:], 0)
	binary.LittleEndian.PutUint16(out[0x3c:], 0)
	binary.LittleEndian.PutUint16(out[0x3e:], 0)
	return out
}
