package packager

import "math/bits"

// Why this file exists: deflate encoders (Go's standard library and
// klauspost/compress alike) give a Huffman tree with a single used symbol
// one code of length 1, leaving the tree incomplete. zlib accepts such
// trees, but libmspack (cabextract, and the MSZIP decoders modelled on
// Microsoft's) refuses them, as it refuses any incomplete tree: a block of
// one repeated byte, whose matches all use distance code 0, would be
// unreadable there. zlib's deflate never emits them (it forces two codes).
// So every compressed block is checked here, and the rare block that fails
// is re-encoded with fixed Huffman codes, which are complete by definition.

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

// endsWithEmptyFinalBlock reports whether p ends as the deflate library
// ends a stream at Close: an empty final fixed-Huffman block (bits 1, 1, 0
// then the 7-bit end-of-block code 0), padded with zeros to a byte.
func endsWithEmptyFinalBlock(p []byte) bool {
	zeros := 0 // trailing zero bits
	i := len(p) - 1
	for i >= 0 && p[i] == 0 {
		zeros += 8
		i--
	}
	if i < 0 {
		return false
	}
	// Bits fill a byte from its least significant end: the stream's last
	// bits in a byte are its most significant ones.
	lz := bits.LeadingZeros8(p[i])
	zeros += lz
	// The two bits before the zeros must both be set.
	pos := i*8 + 7 - lz // position of the last set bit
	prev := pos - 1
	return zeros >= 8 && zeros <= 15 && prev >= 0 && p[prev>>3]>>(prev&7)&1 == 1
}

// strictDecodable reports whether the deflate stream p has the shape every
// MSZIP decoder reads: one block that is stored, fixed, or dynamic with
// complete Huffman trees, either final or followed only by the library's
// empty final block (the data block is not parsed through: the library
// writes a 32 KiB input as one block). A false answer only costs a
// re-encoding.
func strictDecodable(p []byte) bool {
	r := &bitReader{p: p}
	final := r.bits(1)
	btype := r.bits(2)
	if final != 1 && !endsWithEmptyFinalBlock(p) {
		return false
	}
	switch btype {
	case 0, 1:
		return !r.fail
	case 2:
	default:
		return false
	}
	hlit, hdist, hclen := r.bits(5)+257, r.bits(5)+1, r.bits(4)+4
	var cl [19]int
	for i := range hclen {
		cl[clOrder[i]] = r.bits(3)
	}
	var pre huffCode
	if !pre.build(cl[:]) || r.fail {
		return false
	}
	lengths := make([]int, hlit+hdist)
	for i := 0; i < len(lengths); {
		sym := pre.decode(r)
		if r.fail {
			return false
		}
		switch {
		case sym < 16:
			lengths[i] = sym
			i++
			continue
		case sym == 16:
			if i == 0 {
				return false
			}
			n := 3 + r.bits(2)
			if i+n > len(lengths) {
				return false
			}
			for range n {
				lengths[i] = lengths[i-1]
				i++
			}
		default:
			var n int
			if sym == 17 {
				n = 3 + r.bits(3)
			} else {
				n = 11 + r.bits(7)
			}
			if i+n > len(lengths) {
				return false
			}
			i += n // zeros
		}
	}
	var lit, dist huffCode
	return !r.fail && lit.build(lengths[:hlit]) && dist.build(lengths[hlit:])
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

// repairTrees rewrites the dynamic header of the deflate stream p (one
// data block, as strictDecodable expects) when the library left its
// distance tree with a single code, or its code-length tree incomplete: a
// second, unused distance code of length 1 is added after the used one, so
// the used code keeps its bits and the block's body is copied unchanged
// after the new header. It returns false when the block has another shape;
// the caller then re-encodes the data.
func repairTrees(dst, p []byte) ([]byte, bool) {
	r := &bitReader{p: p}
	final := r.bits(1)
	if r.bits(2) != 2 {
		return nil, false
	}
	hlit, hdist, hclen := r.bits(5)+257, r.bits(5)+1, r.bits(4)+4
	var cl [19]int
	for i := range hclen {
		cl[clOrder[i]] = r.bits(3)
	}
	var pre huffCode
	preComplete := pre.build(cl[:])
	if pre.count[0] == len(cl) || r.fail {
		return nil, false
	}
	lengths := make([]int, hlit+hdist, hlit+30)
	for i := 0; i < len(lengths); {
		sym := pre.decode(r)
		if r.fail {
			return nil, false
		}
		n, v := 1, sym
		switch {
		case sym < 16:
		case sym == 16:
			if i == 0 {
				return nil, false
			}
			n, v = 3+r.bits(2), lengths[i-1]
		case sym == 17:
			n, v = 3+r.bits(3), 0
		default:
			n, v = 11+r.bits(7), 0
		}
		if i+n > len(lengths) {
			return nil, false
		}
		for range n {
			lengths[i] = v
			i++
		}
	}
	bodyStart := r.pos
	var lit, dist huffCode
	if r.fail || !lit.build(lengths[:hlit]) {
		return nil, false
	}
	distLens := lengths[hlit:]
	if !dist.build(distLens) {
		used, only := 0, -1
		for s, l := range distLens {
			if l != 0 {
				used++
				only = s
			}
		}
		if used != 1 || distLens[only] != 1 || only == 29 {
			return nil, false
		}
		if only+1 >= len(distLens) {
			lengths = append(lengths, 0)
			distLens = lengths[hlit:]
		}
		distLens[only+1] = 1
	} else if preComplete {
		return append(dst, p...), true // nothing to repair
	}

	// The code-length sequence, zeros run-length coded (17, 18).
	type clSym struct{ sym, extra, nextra int }
	var seq []clSym
	var freq [19]int
	for i := 0; i < len(lengths); {
		if lengths[i] == 0 {
			j := i
			for j < len(lengths) && lengths[j] == 0 && j-i < 138 {
				j++
			}
			switch n := j - i; {
			case n >= 11:
				seq = append(seq, clSym{18, n - 11, 7})
			case n >= 3:
				seq = append(seq, clSym{17, n - 3, 3})
			default:
				j = i + 1
				seq = append(seq, clSym{0, 0, 0})
			}
			i = j
			continue
		}
		seq = append(seq, clSym{lengths[i], 0, 0})
		i++
	}
	for _, s := range seq {
		freq[s.sym]++
	}
	clLens := balancedLengths(freq[:])
	var codes [19]uint16
	canonicalCodes(clLens, codes[:])
	n := 19
	for n > 4 && clLens[clOrder[n-1]] == 0 {
		n--
	}

	w := &bitWriter{out: dst}
	w.write(uint64(final), 1)
	w.write(2, 2)
	w.write(uint64(hlit-257), 5)
	w.write(uint64(len(lengths)-hlit-1), 5)
	w.write(uint64(n-4), 4)
	for i := range n {
		w.write(uint64(clLens[clOrder[i]]), 3)
	}
	for _, s := range seq {
		w.writeCode(uint64(codes[s.sym]), uint(clLens[s.sym]))
		if s.nextra > 0 {
			w.write(uint64(s.extra), uint(s.nextra))
		}
	}
	copyBits(w, p, bodyStart)
	return w.out, true
}

// balancedLengths gives every symbol of non-zero frequency a length of a
// complete code (at least two symbols; the more frequent get the shorter
// lengths). It is not optimal, but close for the 19-symbol code-length
// alphabet, and never longer than 5 bits.
func balancedLengths(freq []int) []int {
	type sf struct{ sym, f int }
	var used []sf
	for s, f := range freq {
		if f > 0 {
			used = append(used, sf{s, f})
		}
	}
	for s := 0; len(used) < 2; s++ { // a complete code needs two symbols
		if freq[s] == 0 {
			used = append(used, sf{s, 0})
		}
	}
	// Most frequent first (stable by symbol).
	for i := 1; i < len(used); i++ {
		for j := i; j > 0 && used[j].f > used[j-1].f; j-- {
			used[j], used[j-1] = used[j-1], used[j]
		}
	}
	k := len(used)
	L := bits.Len(uint(k - 1)) // 2^L >= k
	short := 1<<L - k          // this many get L-1 bits, the rest L
	lens := make([]int, len(freq))
	for i, u := range used {
		if i < short {
			lens[u.sym] = L - 1
		} else {
			lens[u.sym] = L
		}
	}
	return lens
}

// canonicalCodes assigns deflate's canonical Huffman codes for lens.
func canonicalCodes(lens []int, codes []uint16) {
	var count, next [16]int
	for _, l := range lens {
		if l > 0 {
			count[l]++
		}
	}
	code := 0
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	for s, l := range lens {
		if l > 0 {
			codes[s] = uint16(next[l])
			next[l]++
		}
	}
}

// copyBits appends the bits of p from bit position from to its end.
func copyBits(w *bitWriter, p []byte, from int) {
	end := len(p) * 8
	for from < end {
		n := min(end-from, 56)
		i := from >> 3
		var v uint64
		for k := 0; k < 8 && i+k < len(p); k++ {
			v |= uint64(p[i+k]) << (8 * k)
		}
		v >>= uint(from & 7)
		v &= 1<<uint(n) - 1
		w.write(v, uint(n))
		from += n
	}
	w.flush()
}
