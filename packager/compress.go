package packager

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// mszipLevel is the deflate level of klauspost/compress/flate used for
// MSZIP blocks, chosen on the benchmark corpus (see hack/bench.d/20-cab.sh).
const mszipLevel = 5

// block is one CFDATA block in flight: its input (the previous block of the
// folder as dictionary, then up to 32 KiB of data), and once compressed its
// CFDATA header and payload.
type block struct {
	buf  []byte // 2*blockSize: buf[:dict] dictionary, buf[dict:dict+n] data
	dict int
	n    int
	hdr  [dataHeaderSize]byte
	out  []byte
	done chan struct{}
}

func (b *block) data() []byte { return b.buf[b.dict : b.dict+b.n] }

// compressBlocks reads the planned files in order, compresses each 32 KiB
// block on o.concurrency workers and calls emit for every block in cabinet
// order. At most a fixed window of blocks is in flight, so memory does not
// grow with the input.
func compressBlocks(ctx context.Context, p *plan, o *writeOptions, emit func(*block) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	window := 4 * o.concurrency
	free := make(chan *block, window)
	work := make(chan *block, window)
	order := make(chan *block, window)
	for range window {
		free <- &block{buf: make([]byte, 2*blockSize), out: make([]byte, 0, blockSize+64), done: make(chan struct{}, 1)}
	}

	var wg sync.WaitGroup
	for range o.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			enc := newBlockEncoder(o.compression, o.level)
			for b := range work {
				if ctx.Err() == nil {
					enc.encode(b)
				}
				b.done <- struct{}{}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		defer close(order)
		if err := readBlocks(ctx, p, free, func(b *block) {
			order <- b // never blocks: at most window blocks exist
			work <- b
		}); err != nil {
			cancel(err)
		}
	}()

	var err error
	for b := range order {
		<-b.done
		if err == nil {
			if err = context.Cause(ctx); err == nil {
				if err = emit(b); err != nil {
					cancel(err)
				}
			}
		}
		free <- b
	}
	wg.Wait()
	if err == nil {
		err = context.Cause(ctx)
	}
	return err
}

// readBlocks fills blocks from the files of each folder in turn and
// submits them; the last block of a folder may be short, and a folder's
// first block has no dictionary.
func readBlocks(ctx context.Context, p *plan, free chan *block, submit func(*block)) error {
	last := make([]byte, blockSize)
	for _, fo := range p.folders {
		s := &folderStream{files: p.files[fo.first:fo.end]}
		lastLen := 0
		for left := fo.size; left > 0; {
			var b *block
			select {
			case b = <-free:
			case <-ctx.Done():
				s.close()
				return context.Cause(ctx)
			}
			n := int(min(left, blockSize))
			b.dict = copy(b.buf, last[:lastLen])
			b.n = n
			if _, err := io.ReadFull(s, b.buf[b.dict:b.dict+n]); err != nil {
				free <- b
				s.close()
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return fmt.Errorf("folder input ended early: %w", err) // unreachable: folderStream checks sizes
				}
				return err
			}
			lastLen = copy(last, b.data())
			left -= int64(n)
			submit(b)
		}
		// Open the remaining (empty) files too, to check they are empty.
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			s.close()
			if err == nil {
				return errors.New("folder input longer than planned") // unreachable: folderStream checks sizes
			}
			return err
		}
	}
	return nil
}

// folderStream reads the files of one folder back to back, opening each
// only when reached and checking it is exactly as long as declared.
type folderStream struct {
	files []plannedFile
	i     int
	cur   io.ReadCloser
	read  int64
}

func (s *folderStream) Read(p []byte) (int, error) {
	for {
		if s.i == len(s.files) {
			return 0, io.EOF
		}
		f := &s.files[s.i]
		if s.cur == nil {
			rc, err := f.Open()
			if err != nil {
				return 0, fmt.Errorf("opening %q: %w", f.Name, err)
			}
			s.cur, s.read = rc, 0
		}
		if s.read == f.Size {
			var one [1]byte
			n, err := io.ReadFull(s.cur, one[:])
			if n > 0 {
				return 0, &SizeMismatchError{Name: f.Name, Declared: f.Size, Read: f.Size + 1}
			}
			if err != io.EOF {
				return 0, fmt.Errorf("reading %q: %w", f.Name, err)
			}
			err = s.cur.Close()
			s.cur = nil
			if err != nil {
				return 0, fmt.Errorf("closing %q: %w", f.Name, err)
			}
			s.i++
			continue
		}
		if rest := f.Size - s.read; int64(len(p)) > rest {
			p = p[:rest]
		}
		n, err := s.cur.Read(p)
		s.read += int64(n)
		if err == io.EOF {
			if s.read < f.Size {
				return n, &SizeMismatchError{Name: f.Name, Declared: f.Size, Read: s.read}
			}
			err = nil
		}
		if err != nil {
			return n, fmt.Errorf("reading %q: %w", f.Name, err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

func (s *folderStream) close() {
	if s.cur != nil {
		_ = s.cur.Close()
		s.cur = nil
	}
}

// blockEncoder compresses one block at a time; each worker owns one.
type blockEncoder struct {
	compression Compression
	fw          *flate.Writer
	sink        sliceWriter
}

func newBlockEncoder(c Compression, level int) *blockEncoder {
	e := &blockEncoder{compression: c}
	if c == MSZIP {
		fw, err := flate.NewWriter(&e.sink, level)
		if err != nil {
			panic(err) // unreachable: level is mszipLevel, or a benchmark's valid level
		}
		e.fw = fw
	}
	return e
}

// encode fills b.out and b.hdr. An MSZIP block is "CK" then a complete
// deflate stream whose window starts with the previous block; when deflate
// would not shrink the data, a stored deflate block is emitted instead.
func (e *blockEncoder) encode(b *block) {
	data := b.data()
	switch e.compression {
	case None:
		b.out = append(b.out[:0], data...)
	case MSZIP:
		e.sink.b = append(b.out[:0], 'C', 'K')
		e.fw.ResetDict(&e.sink, b.buf[:b.dict])
		_, werr := e.fw.Write(data)
		cerr := e.fw.Close()
		b.out = e.sink.b
		if werr != nil || cerr != nil || !strictDecodable(b.out[2:]) {
			b.out = fixedBlock(append(b.out[:0], 'C', 'K'), b.buf[:b.dict+b.n], b.dict)
		}
		if len(b.out) > 2+5+len(data) {
			b.out = storedBlock(b.out[:0], data)
		}
	}
	binary.LittleEndian.PutUint16(b.hdr[4:], uint16(len(b.out)))
	binary.LittleEndian.PutUint16(b.hdr[6:], uint16(len(data)))
	binary.LittleEndian.PutUint32(b.hdr[0:], dataChecksum(uint16(len(b.out)), uint16(len(data)), b.out))
}

// storedBlock appends "CK" and data as one final stored deflate block.
func storedBlock(dst, data []byte) []byte {
	n := uint16(len(data))
	dst = append(dst, 'C', 'K', 0x01, byte(n), byte(n>>8), byte(^n), byte(^n>>8))
	return append(dst, data...)
}

// sliceWriter appends to a byte slice without the bookkeeping of bytes.Buffer.
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}
