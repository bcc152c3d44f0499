// A grpc-go server answering /loopline.v1.FeatureStore/GetOnlineFeatures with raw bytes, for the
// transport floor in the README: `echo` returns the request, `hmget` first reads 10 fields of one
// of 1,000 hashes it seeds in Redis (REDIS_ADDR, default 127.0.0.1:6379). Prints its port.
package main

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
)

type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error)   { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(d []byte, v any) error { *(v.(*[]byte)) = append([]byte(nil), d...); return nil }
func (rawCodec) Name() string                    { return "raw" }

func main() {
	mode := "echo"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	var rdb *redis.Client
	fields := []string{"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"}
	if mode == "hmget" {
		addr := os.Getenv("REDIS_ADDR")
		if addr == "" {
			addr = "127.0.0.1:6379"
		}
		rdb = redis.NewClient(&redis.Options{Addr: addr})
		values := map[string]any{}
		for i, f := range fields {
			values[f] = i
		}
		for c := 0; c < 1000; c++ {
			if err := rdb.HSet(context.Background(), fmt.Sprintf("go-floor:card-%d", c), values).Err(); err != nil {
				panic(err)
			}
		}
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(lis.Addr().(*net.TCPAddr).Port)
	calls := 0
	s := grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(func(_ any, stream grpc.ServerStream) error {
		var in []byte
		if err := stream.RecvMsg(&in); err != nil {
			return err
		}
		if rdb == nil {
			return stream.SendMsg(&in)
		}
		calls++
		vals, err := rdb.HMGet(stream.Context(), fmt.Sprintf("go-floor:card-%d", calls%1000), fields...).Result()
		if err != nil {
			return err
		}
		out := []byte(fmt.Sprint(vals))
		return stream.SendMsg(&out)
	}))
	if err := s.Serve(lis); err != nil {
		panic(err)
	}
}
