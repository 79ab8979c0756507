package packager

import "math/bits"

// Why this file exists: deflate encoders (Go's standard library and
// klauspost/compress alike) give a Huffman tree with a single used symbol
// one code of length 1, leaving the tree incomplete. zlib accepts such
// trees, but libmspack (cabextract, and the MSZIP decoders modelled on
// Microsoft's) refuses them, as it refuses any incomplete tree: a run of
// one repeated byte, whose matches all use distance code 0, would be
// unreadable there. zlib's deflate never emits them (it forces two codes).
// So every block of every compressed chunk is checked here (the library
// may split a 32 KiB chunk into several blocks), and a chunk that fails is
// encoded again with fixed Huffman codes, which are complete by
// definition: one fallback, correct for any data.

// bitReader reads deflate's LSB-first bit stream.
type bitReader struct {
	p    []byte
	pos  int // bit position
	fail bool
}

func (r *bitReader) bits(n int) int {
	v := 0
	for i := range n {
		byteIdx := r.pos >> 3
		if byteIdx >= len(r.p) {
			r.fail = true
			return 0
		}
		v |= int(r.p[byteIdx]>>(r.pos&7)&1) << i
		r.pos++
	}
	return v
}

// huffCode is a canonical Huffman code as counts per length and symbols.
type huffCode struct {
	count  [16]int
	symbol []int
}

// build constructs the code for lengths and reports whether it is
// complete (the Kraft sum is exactly one). An all-zero code counts as
// complete: it is legal when its symbols are never used.
func (h *huffCode) build(lengths []int) (complete bool) {
	h.count = [16]int{}
	for _, l := range lengths {
		h.count[l]++
	}
	if h.count[0] == len(lengths) {
		h.symbol = h.symbol[:0]
		return true
	}
	left := 1
	for l := 1; l < 16; l++ {
		left <<= 1
		left -= h.count[l]
		if left < 0 {
			return false
		}
	}
	var offs [16]int
	for l := 1; l < 15; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	h.symbol = make([]int, len(lengths))
	for s, l := range lengths {
		if l != 0 {
			h.symbol[offs[l]] = s
			offs[l]++
		}
	}
	return left == 0
}

func (h *huffCode) decode(r *bitReader) int {
	if len(h.symbol) == 0 {
		r.fail = true // a tree with no codes, used
		return 0
	}
	code, first, index := 0, 0, 0
	for l := 1; l < 16; l++ {
		code |= r.bits(1)
		count := h.count[l]
		if code-count < first {
			return h.symbol[index+(code-first)]
		}
		index += count
		first += count
		first <<= 1
		code <<= 1
	}
	r.fail = true
	return 0
}

var clOrder = [19]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

// strictDecodable reports whether every block of the deflate stream p is
// one every MSZIP decoder reads: stored, fixed, or dynamic with complete
// Huffman trees, up to the final block. Each block is walked symbol by
// symbol to find where the next begins. A false answer only costs a
// re-encoding.
func strictDecodable(p []byte) bool {
	r := &bitReader{p: p}
	for {
		final := r.bits(1)
		switch r.bits(2) {
		case 0: // stored: LEN, NLEN from the next byte boundary
			r.pos = (r.pos + 7) &^ 7
			n, nn := r.bits(16), r.bits(16)
			if r.fail || n != ^nn&0xFFFF {
				return false
			}
			r.pos += 8 * n
		case 1:
			if !walkSymbols(r, &fixedLit, &fixedDist) {
				return false
			}
		case 2:
			lit, dist, ok := dynamicTrees(r)
			if !ok || !walkSymbols(r, lit, dist) {
				return false
			}
		default:
			return false
		}
		if r.fail || r.pos > len(p)*8 {
			return false
		}
		if final == 1 {
			return true
		}
	}
}

// The fixed Huffman codes ([RFC 1951] 3.2.6).
var fixedLit, fixedDist = func() (lit, dist huffCode) {
	var l [288]int
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	lit.build(l[:])
	var d [32]int // 30 and 31 are never used, but complete the code
	for i := range d {
		d[i] = 5
	}
	dist.build(d[:])
	return lit, dist
}()

// dynamicTrees reads a dynamic block's header: its code-length, literal
// and distance trees, each of which must be complete.
func dynamicTrees(r *bitReader) (lit, dist *huffCode, ok bool) {
	hlit, hdist, hclen := r.bits(5)+257, r.bits(5)+1, r.bits(4)+4
	var cl [19]int
	for i := range hclen {
		cl[clOrder[i]] = r.bits(3)
	}
	var pre huffCode
	if !pre.build(cl[:]) || r.fail {
		return nil, nil, false
	}
	lengths := make([]int, hlit+hdist)
	for i := 0; i < len(lengths); {
		sym := pre.decode(r)
		if r.fail {
			return nil, nil, false
		}
		n, v := 1, sym
		switch {
		case sym < 16:
		case sym == 16:
			if i == 0 {
				return nil, nil, false
			}
			n, v = 3+r.bits(2), lengths[i-1]
		case sym == 17:
			n, v = 3+r.bits(3), 0
		default:
			n, v = 11+r.bits(7), 0
		}
		if i+n > len(lengths) {
			return nil, nil, false
		}
		for range n {
			lengths[i] = v
			i++
		}
	}
	lit, dist = new(huffCode), new(huffCode)
	return lit, dist, !r.fail && lit.build(lengths[:hlit]) && dist.build(lengths[hlit:])
}

// walkSymbols reads a block's symbols up to its end-of-block code.
func walkSymbols(r *bitReader, lit, dist *huffCode) bool {
	for !r.fail {
		sym := lit.decode(r)
		switch {
		case sym == 256:
			return !r.fail
		case sym < 256:
		case sym <= 285:
			r.pos += lenExtra[sym-257]
			d := dist.decode(r)
			if d >= 30 {
				return false
			}
			r.pos += distExtra[d]
		default:
			return false
		}
	}
	return false
}

// Fixed-Huffman encoding ([RFC 1951] 3.2.6) with greedy LZ77 matching.

var (
	lenBase   = [29]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lenExtra  = [29]int{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase  = [30]int{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]int{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
)

type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *bitWriter) write(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

// writeCode writes a Huffman code, which deflate packs MSB first.
func (w *bitWriter) writeCode(code uint64, n uint) {
	w.write(uint64(bits.Reverse16(uint16(code)))>>(16-n), n)
}

func (w *bitWriter) flush() {
	if w.nacc > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc, w.nacc = 0, 0
	}
}

func (w *bitWriter) fixedLit(s int) {
	switch {
	case s < 144:
		w.writeCode(uint64(0x30+s), 8)
	case s < 256:
		w.writeCode(uint64(0x190+s-144), 9)
	case s < 280:
		w.writeCode(uint64(s-256), 7)
	default:
		w.writeCode(uint64(0xC0+s-280), 8)
	}
}

// fixedBlock appends to dst data (the bytes after the dictionary in buf)
// as one final fixed-Huffman deflate block.
func fixedBlock(dst, buf []byte, dictLen int) []byte {
	const hashBits = 15
	var head [1 << hashBits]int32
	for i := range head {
		head[i] = -1
	}
	hash := func(i int) uint32 {
		v := uint32(buf[i]) | uint32(buf[i+1])<<8 | uint32(buf[i+2])<<16
		return (v * 2654435761) >> (32 - hashBits)
	}
	for i := 0; i+3 <= dictLen; i++ {
		head[hash(i)] = int32(i)
	}
	w := &bitWriter{out: dst}
	w.write(1, 1) // BFINAL
	w.write(1, 2) // BTYPE 01: fixed
	for i := dictLen; i < len(buf); {
		best, bestDist := 0, 0
		if i+3 <= len(buf) {
			h := hash(i)
			if c := int(head[h]); c >= 0 && i-c <= blockSize {
				n := 0
				for n < 258 && i+n < len(buf) && buf[c+n] == buf[i+n] {
					n++
				}
				if n >= 3 {
					best, bestDist = n, i-c
				}
			}
			head[h] = int32(i)
		}
		if best == 0 {
			w.fixedLit(int(buf[i]))
			i++
			continue
		}
		lc := 28
		for lenBase[lc] > best {
			lc--
		}
		w.fixedLit(257 + lc)
		w.write(uint64(best-lenBase[lc]), uint(lenExtra[lc]))
		dc := 29
		for distBase[dc] > bestDist {
			dc--
		}
		w.writeCode(uint64(dc), 5)
		w.write(uint64(bestDist-distBase[dc]), uint(distExtra[dc]))
		for j := i + 1; j < i+best && j+3 <= len(buf); j++ {
			head[hash(j)] = int32(j)
		}
		i += best
	}
	w.fixedLit(256)
	w.flush()
	return w.out
}
