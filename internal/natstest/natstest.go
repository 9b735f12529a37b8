// Package natstest gives tests a NATS server with JetStream: the one
// CAIRN_TEST_NATS_URL names, or one in the test's own process, so that
// the tests need nothing installed.
package natstest

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// InProcess starts a NATS server with JetStream in this process, on a free
// port with its store in a temporary directory, stopped when tb ends, and
// returns its URL.
func InProcess(tb testing.TB) string {
	tb.Helper()
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: tb.TempDir(), NoLog: true, NoSigs: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		tb.Fatal("nats server not ready")
	}
	tb.Cleanup(s.Shutdown)
	return s.ClientURL()
}

// DeleteAtEnd deletes the streams and the key-value buckets named when tb
// ends, so that runs against a shared server leave nothing behind.
func DeleteAtEnd(tb testing.TB, url string, streams, buckets []string) {
	tb.Cleanup(func() {
		nc, err := nats.Connect(url)
		if err != nil {
			return
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range streams {
			_ = js.DeleteStream(ctx, s)
		}
		for _, b := range buckets {
			_ = js.DeleteKeyValue(ctx, b)
		}
	})
}
