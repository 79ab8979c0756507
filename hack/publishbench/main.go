// Command publishbench compares `devupdate publish` with azcopy, the peer
// tool, on the same Azurite in the same run: the throughput and peak memory
// of uploading one large file, and the cost of re-publishing many unchanged
// cabinets (requests counted by a loopback proxy in front of Azurite). It is
// run by hack/bench.d/40-publish.sh.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/devupdate/devupdate/cdn/azure"
	"github.com/devupdate/devupdate/internal/azurite"
)

func main() {
	var (
		dir       = flag.String("dir", os.Getenv("BENCH_DIR"), "scratch directory")
		devupdate = flag.String("devupdate", os.Getenv("DEVUPDATE"), "devupdate binary")
		azcopy    = flag.String("azcopy", "", "azcopy binary")
		azuriteB  = flag.String("azurite", "", "azurite-blob executable")
		sizeMiB   = flag.Int64("size-mib", 1024, "size of the large upload in MiB")
		cabs      = flag.Int("cabs", 100, "number of unchanged cabinets to re-publish")
		inMem     = flag.Bool("in-memory", true, "run Azurite with --inMemoryPersistence (keeps its disk out of the measurement)")
	)
	flag.Parse()
	if *dir == "" || *devupdate == "" || *azcopy == "" || *azuriteB == "" {
		log.Fatal("need -dir, -devupdate, -azcopy and -azurite")
	}
	if err := run(*dir, *devupdate, *azcopy, *azuriteB, *sizeMiB<<20, *cabs, *inMem); err != nil {
		log.Fatal(err)
	}
}

type measure struct {
	tool    string
	seconds float64
	rssKiB  int64
	bytes   int64
}

func (m measure) mbps() float64 { return float64(m.bytes) / 1e6 / m.seconds }

func run(dir, devupdate, azcopy, azuriteBin string, size int64, ncabs int, inMemory bool) error {
	ctx := context.Background()
	dataDir := filepath.Join(dir, "azurite")
	_ = os.RemoveAll(dataDir)
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return err
	}
	azDir := dataDir
	if inMemory {
		azDir = ""
	}
	srv, err := azurite.Start(ctx, azuriteBin, azDir)
	if err != nil {
		return err
	}
	defer srv.Stop()
	defer os.RemoveAll(dataDir)

	proxy, counts, err := countingProxy(srv.Port)
	if err != nil {
		return err
	}
	defer proxy.Close()
	endpoint := "http://" + proxy.Addr().String() + "/" + azurite.Account
	if _, err := azure.Open(ctx, azurite.Account, "bench", azure.Credentials{AccountKey: azurite.Key},
		azure.WithEndpoint(srv.Endpoint), azure.WithCreateContainer()); err != nil {
		return err
	}
	sasQuery, err := containerSAS()
	if err != nil {
		return err
	}

	// What is published are signed cabinets, as publish requires: the
	// payload (random, so incompressible) is stored uncompressed and signed
	// in place with a TEST-ONLY dev PKI.
	pki := filepath.Join(dir, "pki")
	_ = os.RemoveAll(pki)
	if err := command(devupdate, "keys", "dev-pki", pki); err != nil {
		return err
	}
	defer os.RemoveAll(pki)
	signFlags := []string{"--key", filepath.Join(pki, "leaf.key"), "--cert", filepath.Join(pki, "chain.pem"), "--roots", filepath.Join(pki, "root.pem")}
	big := filepath.Join(dir, "big.cab")
	if err := signedCabinet(devupdate, big, size, 1, signFlags); err != nil {
		return err
	}
	defer os.Remove(big)
	// Warm the page cache so neither tool pays for the first read.
	if err := hashFile(big); err != nil {
		return err
	}

	env := append(os.Environ(), "AZURE_STORAGE_KEY="+azurite.Key)
	azEnv := append(os.Environ(),
		"AZCOPY_LOG_LOCATION="+filepath.Join(dir, "azcopy-logs"),
		"AZCOPY_JOB_PLAN_LOCATION="+filepath.Join(dir, "azcopy-plans"),
		"AZCOPY_DISABLE_SYSLOG=true")
	cc, err := containerClient(srv.Endpoint)
	if err != nil {
		return err
	}
	// Uploads go straight to Azurite (the counting proxy would share the
	// two cores); each tool runs twice, alternating, and every upload is
	// deleted afterwards so Azurite's memory does not grow between runs.
	directURL := "azblob://" + azurite.Account + "/bench?endpoint=" + url.QueryEscape(srv.Endpoint)
	best := map[string]measure{}
	for round := range 2 {
		for _, tool := range []string{"devupdate", "azcopy"} {
			var m measure
			if tool == "devupdate" {
				m, err = timed(tool, env, devupdate, "publish", big, "--store", directURL, "--output", "json")
			} else {
				m, err = timed(tool, azEnv, azcopy, "copy", big, srv.Endpoint+"/bench/azcopy-big.cab?"+sasQuery,
					"--from-to", "LocalBlob", "--log-level", "ERROR", "--output-level", "quiet")
			}
			if err != nil {
				return err
			}
			m.bytes = size
			fmt.Printf("  round %d %-10s %7.2f s %8.1f MB/s %8.1f MiB peak RSS\n", round+1, tool, m.seconds, m.mbps(), float64(m.rssKiB)/1024)
			if b, ok := best[tool]; !ok || m.seconds < b.seconds {
				m.rssKiB = max(m.rssKiB, b.rssKiB)
				best[tool] = m
			} else {
				b.rssKiB = max(m.rssKiB, b.rssKiB)
				best[tool] = b
			}
			if err := deleteAll(ctx, cc); err != nil {
				return err
			}
		}
	}
	ours, theirs := best["devupdate"], best["azcopy"]
	fmt.Printf("upload of one %d MiB file to Azurite (loopback, in-memory=%v, same run; best time, highest RSS of 2 rounds)\n", size>>20, inMemory)
	fmt.Printf("%-10s %9s %9s %14s\n", "tool", "seconds", "MB/s", "peak RSS MiB")
	for _, m := range []measure{ours, theirs} {
		fmt.Printf("%-10s %9.2f %9.1f %14.1f\n", m.tool, m.seconds, m.mbps(), float64(m.rssKiB)/1024)
	}
	fmt.Printf("ratio devupdate/azcopy: throughput %.2fx, peak RSS %.3fx\n\n", ours.mbps()/theirs.mbps(), float64(ours.rssKiB)/float64(theirs.rssKiB))

	// Re-publish of unchanged cabinets.
	cabDir := filepath.Join(dir, "cabs")
	_ = os.RemoveAll(cabDir)
	if err := os.MkdirAll(cabDir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(cabDir)
	var paths []string
	for i := range ncabs {
		p := filepath.Join(cabDir, fmt.Sprintf("cab%03d.cab", i))
		if err := unsignedCabinet(devupdate, p, 256<<10, uint64(i+2)); err != nil {
			return err
		}
		paths = append(paths, p)
	}
	if err := command(devupdate, append(append([]string{"sign"}, paths...), signFlags...)...); err != nil {
		return err
	}
	storeURL := "azblob://" + azurite.Account + "/bench?endpoint=" + url.QueryEscape(endpoint)
	args := append(append([]string{"publish"}, paths...), "--store", storeURL, "--output", "json")
	if _, err := timed("devupdate", env, devupdate, args...); err != nil {
		return err
	}
	if _, err := timed("azcopy", azEnv, azcopy, "copy", filepath.Join(cabDir, "*"), endpoint+"/bench/azcopy-cabs?"+sasQuery,
		"--from-to", "LocalBlob", "--log-level", "ERROR", "--output-level", "quiet"); err != nil {
		return err
	}
	// Best of three runs each; requests counted on the last.
	var again, azAgain measure
	var oursReq, azReq string
	for range 3 {
		counts.reset()
		m, err := timed("devupdate", env, devupdate, args...)
		if err != nil {
			return err
		}
		oursReq = counts.reset()
		if again.seconds == 0 || m.seconds < again.seconds {
			again = m
		}
		m, err = timed("azcopy", azEnv, azcopy, "copy", filepath.Join(cabDir, "*"), endpoint+"/bench/azcopy-cabs?"+sasQuery,
			"--from-to", "LocalBlob", "--overwrite", "false", "--log-level", "ERROR", "--output-level", "quiet")
		if err != nil {
			return err
		}
		azReq = counts.reset()
		if azAgain.seconds == 0 || m.seconds < azAgain.seconds {
			azAgain = m
		}
	}
	fmt.Printf("re-publish of %d unchanged 256 KiB cabinets (azcopy: copy --overwrite false)\n", ncabs)
	fmt.Printf("%-10s %9s %14s  %s\n", "tool", "seconds", "peak RSS MiB", "requests")
	fmt.Printf("%-10s %9.2f %14.1f  %s\n", "devupdate", again.seconds, float64(again.rssKiB)/1024, oursReq)
	fmt.Printf("%-10s %9.2f %14.1f  %s\n", "azcopy", azAgain.seconds, float64(azAgain.rssKiB)/1024, azReq)
	fmt.Printf("ratio devupdate/azcopy: time %.2fx\n", again.seconds/azAgain.seconds)
	return nil
}

// timed runs name under GNU time -v and returns its wall time and peak RSS.
func timed(tool string, env []string, name string, args ...string) (measure, error) {
	cmd := exec.Command("/usr/bin/time", append([]string{"-v", name}, args...)...)
	cmd.Env = env
	var out strings.Builder
	cmd.Stdout = io.Discard
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return measure{}, fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args[:1], " "), err, out.String())
	}
	m := measure{tool: tool}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Maximum resident set size (kbytes):"):
			m.rssKiB, _ = strconv.ParseInt(strings.TrimSpace(line[strings.LastIndexByte(line, ':')+1:]), 10, 64)
		case strings.HasPrefix(line, "Elapsed (wall clock) time"):
			m.seconds = parseClock(line[strings.Index(line, "):")+2:])
		}
	}
	if m.seconds == 0 || m.rssKiB == 0 {
		return m, fmt.Errorf("%s: cannot read /usr/bin/time output:\n%s", tool, out.String())
	}
	return m, nil
}

var clockRe = regexp.MustCompile(`^\s*(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)\s*$`)

// parseClock parses GNU time's [h:]mm:ss.ss.
func parseClock(s string) float64 {
	m := clockRe.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	h, _ := strconv.ParseFloat(m[1], 64)
	min, _ := strconv.ParseFloat(m[2], 64)
	sec, _ := strconv.ParseFloat(m[3], 64)
	return h*3600 + min*60 + sec
}

func randomFile(path string, size int64, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	if _, err := io.CopyN(f, r, size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// unsignedCabinet writes a cabinet holding one random, uncompressed
// payload of size bytes, by `devupdate cab create`.
func unsignedCabinet(devupdate, path string, size int64, seed uint64) error {
	src, err := os.MkdirTemp(filepath.Dir(path), ".payload-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := randomFile(filepath.Join(src, "payload.bin"), size, seed); err != nil {
		return err
	}
	_ = os.Remove(path)
	return command(devupdate, "cab", "create", "--compression", "none", path, src)
}

// signedCabinet is unsignedCabinet signed in place with signFlags.
func signedCabinet(devupdate, path string, size int64, seed uint64, signFlags []string) error {
	if err := unsignedCabinet(devupdate, path, size, seed); err != nil {
		return err
	}
	return command(devupdate, append([]string{"sign", path}, signFlags...)...)
}

func command(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

func hashFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(sha256.New(), f)
	return err
}

func containerClient(endpoint string) (*container.Client, error) {
	cred, err := container.NewSharedKeyCredential(azurite.Account, azurite.Key)
	if err != nil {
		return nil, err
	}
	return container.NewClientWithSharedKeyCredential(endpoint+"/bench", cred, nil)
}

func deleteAll(ctx context.Context, c *container.Client) error {
	pager := c.NewListBlobsFlatPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, b := range page.Segment.BlobItems {
			if _, err := c.NewBlobClient(*b.Name).Delete(ctx, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func containerSAS() (string, error) {
	cred, err := service.NewSharedKeyCredential(azurite.Account, azurite.Key)
	if err != nil {
		return "", err
	}
	q, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		StartTime:     time.Now().Add(-time.Minute).UTC(),
		ExpiryTime:    time.Now().Add(2 * time.Hour).UTC(),
		Permissions:   (&sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, List: true}).String(),
		ContainerName: "bench",
	}.SignWithSharedKey(cred)
	if err != nil {
		return "", err
	}
	return q.Encode(), nil
}

// requestCounter counts proxied requests by method.
type requestCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *requestCounter) add(method string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[method]++
}

// reset returns the counts so far ("HEAD=100 total=100") and starts again.
func (c *requestCounter) reset() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var keys []string
	total := 0
	for k, v := range c.n {
		keys = append(keys, fmt.Sprintf("%s=%d", k, v))
		total += v
	}
	sort.Strings(keys)
	c.n = map[string]int{}
	return fmt.Sprintf("%s total=%d", strings.Join(keys, " "), total)
}

func countingProxy(port int) (net.Listener, *requestCounter, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	target := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 64}
	c := &requestCounter{n: map[string]int{}}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c.add(r.Method)
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()
	return l, c, nil
}
