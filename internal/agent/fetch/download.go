package fetch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/devupdate/devupdate/internal/failpoint"
	"github.com/devupdate/devupdate/internal/iox"
)

// PartSuffix names a download in progress: dst+PartSuffix.
const PartSuffix = ".part"

// bufSize is the copy buffer: memory stays flat whatever the file's size.
const bufSize = 256 << 10

// Download fetches path into the file dst: exactly length bytes whose
// SHA-256 is sum (lower-case hex), both from signed metadata. The bytes go
// to dst.part first, hashed as they arrive; a dropped connection or a
// stall resumes with a Range request where it stopped, and a dst.part left
// by an earlier run (a crash, a power cut) is resumed too, once its bytes
// are hashed again. Nothing past length is ever read (ErrTooLong). Once
// complete and matching, dst.part is synced and renamed to dst. A digest
// mismatch removes dst.part (*DigestError); if the bytes came partly from
// an earlier run, the download is started over once, since that part may
// be what was damaged.
func (c *Client) Download(ctx context.Context, path, dst string, length int64, sum string) error {
	part := dst + PartSuffix
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	d := &download{c: c, f: f, path: path, length: length, buf: make([]byte, bufSize)}
	if err := d.resume(ctx); err != nil {
		return err
	}
	for {
		fromEarlierRun := d.n > 0
		err := c.try(ctx, "GET "+path, d.attempt)
		if err != nil {
			return err
		}
		got := hex.EncodeToString(d.h.Sum(nil))
		if got == sum {
			break
		}
		if fromEarlierRun {
			if err := d.restart(); err != nil {
				return err
			}
			continue
		}
		_ = f.Close()
		_ = os.Remove(part)
		return &DigestError{URL: c.url(int(c.cur.Load())%len(c.bases), path), Want: sum, Got: got}
	}
	failpoint.Hit("download-complete")
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(part, dst); err != nil {
		return err
	}
	iox.SyncDir(dirOf(dst))
	return nil
}

func dirOf(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[:i]
	}
	return "."
}

// download is one Download in progress: n bytes of f hashed into h.
type download struct {
	c      *Client
	f      *os.File
	path   string
	length int64
	n      int64
	high   int64 // the most bytes ever held: progress is going past it
	h      hash.Hash
	buf    []byte
}

// resume hashes what an earlier run left in the part file (bounded by
// the signed length: anything longer is not ours, and starts over).
func (d *download) resume(ctx context.Context) error {
	st, err := d.f.Stat()
	if err != nil {
		return err
	}
	if st.Size() > d.length {
		return d.restart()
	}
	d.h = sha256.New()
	n, err := io.CopyBuffer(d.h, io.NewSectionReader(d.f, 0, st.Size()), d.buf)
	if err != nil {
		return err
	}
	d.n, d.high = n, n
	_, err = d.f.Seek(n, io.SeekStart)
	return err
}

func (d *download) restart() error {
	if err := d.f.Truncate(0); err != nil {
		return err
	}
	if _, err := d.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	d.n, d.h = 0, sha256.New()
	return nil
}

// attempt is one GET, from d.n on; it reports whether bytes arrived.
func (d *download) attempt(ctx context.Context, base int) (bool, error) {
	if d.n == d.length {
		return false, nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// A stall (no bytes for stallTimeout) abandons the attempt; the next
	// one resumes.
	errStall := fmt.Errorf("no data for %s", d.c.o.stallTimeout)
	stall := time.AfterFunc(d.c.o.stallTimeout, func() { cancel(errStall) })
	defer stall.Stop()
	u := d.c.url(base, d.path)
	req, err := d.c.newRequest(ctx, u)
	if err != nil {
		return false, err
	}
	if d.n > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(d.n, 10)+"-")
	}
	resp, err := d.c.o.http.Do(req)
	if err != nil {
		return false, causeOf(ctx, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		if d.n > 0 {
			// The server sends the whole file: start over.
			if err := d.restart(); err != nil {
				return false, err
			}
		}
	case resp.StatusCode == http.StatusPartialContent && d.n > 0:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != d.n || (total >= 0 && total != d.length) {
			return false, fmt.Errorf("GET %s: %w: Content-Range %q for bytes %d- of %d", u, errNotResumable, resp.Header.Get("Content-Range"), d.n, d.length)
		}
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		drain(resp.Body)
		return false, fmt.Errorf("GET %s: %w: the server has fewer than the %d bytes kept (of %d)", u, ErrTruncated, d.n, d.length)
	default:
		drain(resp.Body)
		return false, &StatusError{URL: u, Code: resp.StatusCode}
	}
	if resp.ContentLength >= 0 && d.n+resp.ContentLength > d.length {
		return false, fmt.Errorf("GET %s: %w: %d more bytes after %d, %d signed", u, ErrTooLong, resp.ContentLength, d.n, d.length)
	}
	progress := func() bool {
		if d.n > d.high {
			d.high = d.n
			return true
		}
		return false
	}
	hitProgress := false
	for {
		// Read at most one byte past the signed length, to see it is there.
		want := min(int64(len(d.buf)), d.length-d.n+1)
		k, rerr := resp.Body.Read(d.buf[:want])
		if k > 0 {
			stall.Reset(d.c.o.stallTimeout)
			if d.n+int64(k) > d.length {
				return progress(), fmt.Errorf("GET %s: %w: more than the %d signed bytes", u, ErrTooLong, d.length)
			}
			if _, err := d.f.Write(d.buf[:k]); err != nil {
				return progress(), err
			}
			d.h.Write(d.buf[:k])
			d.n += int64(k)
			if !hitProgress {
				hitProgress = true
				failpoint.Hit("download-progress")
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return progress(), causeOf(ctx, rerr)
		}
	}
	if d.n < d.length {
		// The body ended early: a drop, or a file that is short; the
		// next attempt's Range request tells which.
		return progress(), fmt.Errorf("GET %s: %w after %d of %d bytes", u, io.ErrUnexpectedEOF, d.n, d.length)
	}
	return progress(), nil
}

// causeOf returns why ctx ended (a stall) in place of err when it did.
func causeOf(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
		return fmt.Errorf("%w (%w)", c, err)
	}
	return err
}

// parseContentRange reads "bytes START-END/TOTAL" (TOTAL may be "*": -1).
func parseContentRange(s string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	if tot == "*" {
		return start, -1, true
	}
	total, err = strconv.ParseInt(tot, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return start, total, true
}
