package report

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/devupdate/devupdate/internal/problem"
	"github.com/devupdate/devupdate/manifest/update"
)

var t0 = time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)

func sample(outcome Outcome) *Report {
	v, _ := update.ParseVersion("1.0.0.2")
	r := &Report{DeviceID: "e2577a1e-0030-554e-8000-c01705000042", Ring: "Preview", Name: "Contoso.Toaster.Driver", Version: v,
		Kind: update.KindDriver, SHA256: strings.Repeat("0f", 32), Outcome: outcome, Started: t0, Finished: t0.Add(3 * time.Second),
		Timings: Timings{DownloadMS: 1200, VerifyMS: 300, InstallMS: 1500}, Handler: &Handler{ExitCode: 0, Output: "ok\n"}}
	if outcome == Failed {
		r.Error = &Error{Code: "handler_failed", Message: "exit status 1"}
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	for _, o := range outcomes {
		r := sample(o)
		if o == Abandoned {
			r.Error = &Error{Code: "abandoned", Message: "no longer offered"}
		}
		data, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := Parse("r.json", data)
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		if diff := cmp.Diff(r, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", o, diff)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good, _ := sample(Installed).Encode()
	for name, tt := range map[string]struct{ doc, field string }{
		"no schema":         {strings.Replace(string(good), `"schema":1,`, "", 1), "schema"},
		"bad outcome":       {strings.Replace(string(good), `"installed"`, `"maybe"`, 1), "outcome"},
		"error on success":  {strings.Replace(string(good), `"outcome"`, `"error":{"code":"x","message":"y"},"outcome"`, 1), "error"},
		"bad version":       {strings.Replace(string(good), `"1.0.0.2"`, `"1.0.0"`, 1), "version"},
		"bad time":          {strings.Replace(string(good), `"2026-11-03T08:00:00Z"`, `"yesterday"`, 1), "started"},
		"unknown key":       {strings.Replace(string(good), `"schema":1,`, `"schema":1,"extra":1,`, 1), "extra"},
		"unknown timing":    {strings.Replace(string(good), `"download_ms"`, `"dl_ms"`, 1), "timings.dl_ms"},
		"not an object":     {"[]", ""},
		"finished too soon": {strings.Replace(string(good), `"2026-11-03T08:00:03Z"`, `"2026-11-03T07:00:00Z"`, 1), "finished"},
	} {
		_, err := Parse("r.json", []byte(tt.doc))
		found := false
		for _, p := range problem.As(err) {
			found = found || p.Field == tt.field && p.File == "r.json"
		}
		if !errors.Is(err, ErrInvalid) || !found {
			t.Errorf("%s: %v, want a problem at %q", name, err, tt.field)
		}
	}
}

func FuzzParse(f *testing.F) {
	good, _ := sample(Installed).Encode()
	failed, _ := sample(Failed).Encode()
	f.Add(string(good))
	f.Add(string(failed))
	f.Fuzz(func(t *testing.T, doc string) {
		r, err := Parse("f.json", []byte(doc))
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		data, err := r.Encode()
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse("f.json", data)
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, data)
		}
		if diff := cmp.Diff(r, again, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("round trip:\n%s", diff)
		}
	})
}

func TestOutbox(t *testing.T) {
	ctx := context.Background()
	var fail atomic.Int32
	var got atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := Parse("posted", body); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		switch fail.Load() {
		case 1:
			http.Error(w, "busy", http.StatusServiceUnavailable)
			fail.Store(0)
			return
		case 2:
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		got.Add(1)
	}))
	defer srv.Close()
	o := &Outbox{Dir: t.TempDir(), URL: srv.URL, Attempts: 2}
	for _, oc := range []Outcome{Installed, Failed} {
		r := sample(oc)
		r.Finished = r.Finished.Add(time.Duration(len(oc)) * time.Millisecond)
		if _, err := o.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A damaged report is moved aside, not sent.
	if err := os.WriteFile(filepath.Join(o.Dir, "outbox", "00000000-broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	fail.Store(1) // one 503 first: retried
	n, err := o.Flush(ctx)
	if err != nil || n != 2 || got.Load() != 2 {
		t.Fatalf("flush: %d sent, %v, server got %d", n, err, got.Load())
	}
	if pending, _ := o.Pending(); len(pending) != 0 {
		t.Errorf("pending after flush: %v", pending)
	}
	if sent, _ := o.Sent(); len(sent) != 2 {
		t.Errorf("sent: %v", sent)
	}
	if _, err := os.Stat(filepath.Join(o.Dir, "bad", "00000000-broken.json")); err != nil {
		t.Errorf("broken report not moved aside: %v", err)
	}
	// A refusal keeps the report for later.
	if _, err := o.Write(ctx, sample(PendingReboot)); err != nil {
		t.Fatal(err)
	}
	fail.Store(2)
	if _, err := o.Flush(ctx); !errors.Is(err, ErrRejected) {
		t.Errorf("403: %v", err)
	}
	if pending, _ := o.Pending(); len(pending) != 1 {
		t.Errorf("pending after a refusal: %v", pending)
	}
}
