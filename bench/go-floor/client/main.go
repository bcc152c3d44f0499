// An open-loop grpc-go caller of /loopline.v1.FeatureStore/GetOnlineFeatures, scheduled as
// bench/open-loop.ts schedules (latency from each call's due time). Sends 120 zero bytes, or the
// base64 requests, one per line, of the file REQS names.
// Usage: go run ./client HOST:PORT [rate=500] [seconds=10]
package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)   { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(d []byte, v any) error { *(v.(*[]byte)) = append([]byte(nil), d...); return nil }
func (rawCodec) Name() string                    { return "raw" }

func arg(i int, fallback int) int {
	if len(os.Args) > i {
		if v, err := strconv.Atoi(os.Args[i]); err == nil {
			return v
		}
	}
	return fallback
}

func main() {
	rate, secs := arg(2, 500), arg(3, 10)
	payloads := [][]byte{make([]byte, 120)}
	if f := os.Getenv("REQS"); f != "" {
		raw, err := os.ReadFile(f)
		if err != nil {
			panic(err)
		}
		payloads = nil
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			b, err := base64.StdEncoding.DecodeString(line)
			if err != nil {
				panic(err)
			}
			payloads = append(payloads, b)
		}
	}
	conn, err := grpc.NewClient(os.Args[1], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	call := func(i int) {
		var out []byte
		p := payloads[i%len(payloads)]
		if err := conn.Invoke(context.Background(), "/loopline.v1.FeatureStore/GetOnlineFeatures", &p, &out, grpc.ForceCodec(rawCodec{})); err != nil {
			panic(err)
		}
	}
	for i := 0; i < 3000; i++ {
		call(i) // warm-up
	}
	n := rate * secs
	lat := make([]float64, n)
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; i < n; i++ {
		due := begin.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func(i int, due time.Time) {
			defer wg.Done()
			call(i)
			lat[i] = float64(time.Since(due).Microseconds()) / 1000
		}(i, due)
	}
	wg.Wait()
	sort.Float64s(lat)
	q := func(p float64) float64 { return lat[min(n-1, int(p*float64(n)))] }
	fmt.Printf("grpc-go caller at %d/s for %d s: p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms\n", rate, secs, q(0.5), q(0.99), q(0.999), lat[n-1])
}
