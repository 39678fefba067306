package vmimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// xz filter ids used by kernel images.
const (
	filterX86   = 0x04
	filterLZMA2 = 0x21
)

// decompressKernelXZ decodes the first block of an xz stream compressed
// with an optional x86 branch-call-jump filter in front of LZMA2, the way
// the Linux build compresses bzImage payloads. The xz library decodes
// LZMA2 only, so the container format and the x86 filter are handled here.
func decompressKernelXZ(stream []byte) ([]byte, error) {
	if len(stream) < 12+1 || !bytes.Equal(stream[:6], xzMagic) {
		return nil, errors.New("not an xz stream")
	}
	hdr := stream[12:]
	size := (int(hdr[0]) + 1) * 4
	if hdr[0] == 0 || len(hdr) < size {
		return nil, errors.New("xz: bad block header")
	}
	flags := hdr[1]
	nfilters := int(flags&3) + 1
	pos := 2
	readVarint := func() (uint64, error) {
		v, n := binary.Uvarint(hdr[pos:size])
		if n <= 0 {
			return 0, errors.New("xz: bad block header number")
		}
		pos += n
		return v, nil
	}
	if flags&0x40 != 0 {
		if _, err := readVarint(); err != nil {
			return nil, err
		}
	}
	if flags&0x80 != 0 {
		if _, err := readVarint(); err != nil {
			return nil, err
		}
	}
	x86 := false
	dictCap := 0
	for i := 0; i < nfilters; i++ {
		id, err := readVarint()
		if err != nil {
			return nil, err
		}
		propSize, err := readVarint()
		if err != nil {
			return nil, err
		}
		if pos+int(propSize) > size {
			return nil, errors.New("xz: bad filter properties")
		}
		props := hdr[pos : pos+int(propSize)]
		pos += int(propSize)
		switch id {
		case filterX86:
			if len(props) == 4 && binary.LittleEndian.Uint32(props) != 0 {
				return nil, errors.New("xz: x86 filter with a start offset is not supported")
			}
			x86 = true
		case filterLZMA2:
			if len(props) != 1 || props[0] > 40 {
				return nil, errors.New("xz: bad LZMA2 properties")
			}
			d := props[0]
			if d == 40 {
				dictCap = 1<<31 - 1
			} else {
				dictCap = (2 | int(d&1)) << (d/2 + 11)
			}
		default:
			return nil, fmt.Errorf("xz: unsupported filter %#x", id)
		}
	}
	if dictCap == 0 {
		return nil, errors.New("xz: no LZMA2 filter")
	}
	r, err := lzma.Reader2Config{DictCap: dictCap}.NewReader2(bytes.NewReader(hdr[size:]))
	if err != nil {
		return nil, fmt.Errorf("xz: %w", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("xz: %w", err)
	}
	if x86 {
		unfilterX86(out)
	}
	return out, nil
}

// unfilterX86 reverses the x86 branch-call-jump filter in place: relative
// targets of CALL (E8) and JMP (E9) instructions were turned into absolute
// ones to compress better; this turns them back.
func unfilterX86(buf []byte) {
	allowed := [8]bool{true, true, true, false, true, false, false, false}
	bitNumber := [8]uint32{0, 1, 2, 2, 3, 3, 3, 3}
	isMSByte := func(b byte) bool { return b == 0 || b == 0xff }
	var prevMask uint32
	prevPos := ^uint32(4) // -5: no opcode seen yet
	for i := 0; i+5 <= len(buf); {
		if buf[i] != 0xe8 && buf[i] != 0xe9 {
			i++
			continue
		}
		offset := uint32(i) - prevPos
		prevPos = uint32(i)
		if offset > 5 {
			prevMask = 0
		} else {
			for k := uint32(0); k < offset; k++ {
				prevMask &= 0x77
				prevMask <<= 1
			}
		}
		b := buf[i+4]
		if isMSByte(b) && allowed[(prevMask>>1)&7] && prevMask>>1 < 0x10 {
			src := uint32(b)<<24 | uint32(buf[i+3])<<16 | uint32(buf[i+2])<<8 | uint32(buf[i+1])
			var dest uint32
			for {
				dest = src - uint32(i+5)
				if prevMask == 0 {
					break
				}
				n := bitNumber[prevMask>>1]
				b = byte(dest >> (24 - n*8))
				if !isMSByte(b) {
					break
				}
				src = dest ^ (1<<(32-n*8) - 1)
			}
			buf[i+4] = ^byte((dest>>24)&1 - 1)
			buf[i+3] = byte(dest >> 16)
			buf[i+2] = byte(dest >> 8)
			buf[i+1] = byte(dest)
			i += 5
			prevMask = 0
		} else {
			i++
			prevMask |= 1
			if isMSByte(b) {
				prevMask |= 0x10
			}
		}
	}
}
