// Package bus carries normalized events between the nodes of cairn's
// scale-out mode over NATS JetStream.
//
// Decoders publish events to subjects partitioned by host (runtime events)
// or by cloud identity (cloud events), so that all the state a stateful
// detection needs lands on one detect worker. Each partition is consumed by
// one worker at a time: a durable pull consumer per partition, owned
// through a lease in a JetStream key-value bucket whose entries expire
// after the lease time unless the owner renews them.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/cairn-cdr/cairn"
)

// Defaults of Config.
const (
	DefaultPartitions = 16
	DefaultStream     = "CAIRN_EVENTS"
	DefaultSubject    = "cairn.events"
	DefaultLease      = 10 * time.Second
	DefaultAckWait    = 30 * time.Second
	DefaultRetryDelay = time.Second
	// DefaultMaxBacklog bounds the events waiting in the stream: a
	// publisher beyond it is told to wait (EUNAVAILABLE) instead of the
	// bus growing without end.
	DefaultMaxBacklog = 2_000_000
	DefaultMaxBytes   = 4 << 30
)

// publishChunk bounds the asynchronous publishes in flight, so that a large
// Publish never stalls the client's pending-ack window.
const publishChunk = 1000

// Config configures a Bus. The zero value of every field but URL means its
// default.
type Config struct {
	URL        string
	Partitions int    // number of partitions; every node must agree
	Stream     string // JetStream stream name; the lease bucket is Stream+"_LEASES"
	// Subject is the subject prefix: partition p is Subject+"."+p. Two
	// buses on one server with different streams need different prefixes.
	Subject string
	// Lease is how long a partition stays owned by a worker that stopped
	// renewing it; a dead worker's partitions are taken over after it.
	Lease time.Duration
	// AckWait is how long a delivered, unacknowledged message waits before
	// it is delivered again (after a worker died holding it).
	AckWait time.Duration
	// RetryDelay is how long a batch whose handler failed waits before it
	// is delivered again.
	RetryDelay time.Duration
	// MaxBacklog and MaxBytes bound the stream (events published and not
	// yet handled, and their bytes); a publish beyond either fails with
	// EUNAVAILABLE until workers catch up.
	MaxBacklog int64
	MaxBytes   int64
	// Retain, when set, keeps every message that long, handled or not,
	// instead of a work queue's until it is handled: a worker taking a
	// partition over is delivered all its retained messages again, which
	// is how it rebuilds state that lives nowhere else (the windows of
	// forwarded correlations). Handlers must then take a message handled
	// twice as handled once.
	Retain   time.Duration
	WorkerID string       // a unique worker id; random when empty
	Logger   *slog.Logger // nil discards
}

func (c *Config) setDefaults() {
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Subject == "" {
		c.Subject = DefaultSubject
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.AckWait <= 0 {
		c.AckWait = DefaultAckWait
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.MaxBacklog <= 0 {
		c.MaxBacklog = DefaultMaxBacklog
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.WorkerID == "" {
		c.WorkerID = nuid.Next()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Bus is a connection to the event bus.
type Bus struct {
	cfg Config
	nc  *nats.Conn
	js  jetstream.JetStream
	kv  jetstream.KeyValue
	log *slog.Logger
}

// Connect connects to NATS and creates the stream, the partition consumers
// and the lease bucket if they do not exist (or updates them to cfg).
func Connect(ctx context.Context, cfg Config) (*Bus, error) {
	cfg.setDefaults()
	if cfg.URL == "" {
		return nil, cairn.Errorf(cairn.EINVALID, "bus: no NATS URL")
	}
	if !validID(cfg.WorkerID) {
		return nil, cairn.Errorf(cairn.EINVALID, "bus: worker id %q: use letters, digits, '-' and '_'", cfg.WorkerID)
	}
	nc, err := nats.Connect(cfg.URL, nats.Name("cairn "+cfg.WorkerID), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("connect to nats: %w", err)
	}
	b := &Bus{cfg: cfg, nc: nc, log: cfg.Logger}
	if err := b.setup(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bus) setup(ctx context.Context) error {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	b.js = js
	// A work queue: each partition has exactly one consumer, and a message
	// is removed once it is acknowledged, so storage holds only the
	// backlog. MaxAge bounds a backlog nobody consumes; MaxMsgs and
	// MaxBytes with DiscardNew refuse new events when the backlog is
	// full, rather than dropping unhandled ones.
	sc := jetstream.StreamConfig{
		Name:       b.cfg.Stream,
		Subjects:   []string{b.cfg.Subject + ".>"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.WorkQueuePolicy,
		MaxAge:     7 * 24 * time.Hour,
		MaxMsgs:    b.cfg.MaxBacklog,
		MaxBytes:   b.cfg.MaxBytes,
		Duplicates: 2 * time.Minute,
		Discard:    jetstream.DiscardNew,
	}
	if b.cfg.Retain > 0 {
		sc.Retention, sc.MaxAge = jetstream.LimitsPolicy, b.cfg.Retain
	}
	_, err = js.CreateOrUpdateStream(ctx, sc)
	if err != nil {
		return fmt.Errorf("create stream %s: %w", b.cfg.Stream, err)
	}
	for p := 0; p < b.cfg.Partitions; p++ {
		if _, err := js.CreateOrUpdateConsumer(ctx, b.cfg.Stream, b.consumerConfig(p)); err != nil {
			return fmt.Errorf("create consumer for partition %d: %w", p, err)
		}
	}
	// The bucket's TTL is the lease: an entry not rewritten within it
	// disappears, which is how a dead worker's leases and heartbeat end.
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:  b.cfg.Stream + "_LEASES",
		History: 1,
		TTL:     b.cfg.Lease,
		Storage: jetstream.FileStorage,
	})
	if err != nil {
		return fmt.Errorf("create lease bucket: %w", err)
	}
	b.kv = kv
	return nil
}

// Close closes the connection. Work must have returned before.
func (b *Bus) Close() {
	b.nc.Close()
}

// WorkerID returns the id this bus's worker holds leases under.
func (b *Bus) WorkerID() string { return b.cfg.WorkerID }

// validID reports whether id can be part of a key-value key.
func validID(id string) bool {
	for _, r := range id {
		ok := r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !ok {
			return false
		}
	}
	return id != ""
}

func consumerName(p int) string { return "p" + strconv.Itoa(p) }

func (b *Bus) consumerConfig(p int) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       consumerName(p),
		FilterSubject: b.subject(p),
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.cfg.AckWait,
		MaxDeliver:    -1,
		MaxAckPending: 10 * fetchBatch,
	}
}

// resetConsumer recreates partition p's consumer, so that it delivers the
// partition's events from the oldest unacknowledged one, in order: a
// worker taking a partition over from a dead one gets the events that
// one held first, not after their ack wait. A work-queue stream keeps an
// event until it is acknowledged, whatever happens to its consumer; a
// stream that retains (Config.Retain) delivers everything it holds again.
func (b *Bus) resetConsumer(ctx context.Context, p int) (jetstream.Consumer, error) {
	if err := b.js.DeleteConsumer(ctx, b.cfg.Stream, consumerName(p)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("reset consumer of partition %d: %w", p, err)
	}
	c, err := b.js.CreateOrUpdateConsumer(ctx, b.cfg.Stream, b.consumerConfig(p))
	if err != nil {
		return nil, fmt.Errorf("reset consumer of partition %d: %w", p, err)
	}
	return c, nil
}

func (b *Bus) subject(p int) string { return b.cfg.Subject + "." + strconv.Itoa(p) }

// Partition returns the partition ev is published to (see
// cairn.PartitionKey).
func (b *Bus) Partition(ev *cairn.Event) int { return b.partitionOf(cairn.PartitionKey(ev)) }

// partitionOf returns the partition of a message partitioned by key.
func (b *Bus) partitionOf(key string) int { return int(cairn.KeyHash(key) % uint32(b.cfg.Partitions)) }

// Partitions returns the number of partitions.
func (b *Bus) Partitions() int { return b.cfg.Partitions }

// full reports whether a publish failed because the stream holds its
// most events or bytes (discard-new).
func full(err error) bool {
	var api *jetstream.APIError
	if !errors.As(err, &api) {
		return false
	}
	d := api.Description
	return strings.Contains(d, "maximum messages") || strings.Contains(d, "maximum bytes") || strings.Contains(d, "resource limits")
}

// Pending returns the messages not yet handled: waiting in the stream or
// delivered and not acknowledged, over all partitions.
func (b *Bus) Pending(ctx context.Context) (uint64, error) {
	var n uint64
	for p := 0; p < b.cfg.Partitions; p++ {
		c, err := b.js.Consumer(ctx, b.cfg.Stream, consumerName(p))
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			continue // being reset
		}
		if err != nil {
			return 0, err
		}
		info, err := c.Info(ctx)
		if err != nil {
			return 0, err
		}
		n += info.NumPending + uint64(info.NumAckPending)
	}
	return n, nil
}

// Publish publishes evs and returns once JetStream has stored all of them.
// The event id is the message id, so an event published twice within the
// stream's duplicate window is stored once.
func (b *Bus) Publish(ctx context.Context, evs []cairn.Event) error {
	msgs := make([]Message, 0, min(len(evs), publishChunk))
	for start := 0; start < len(evs); start += publishChunk {
		msgs = msgs[:0]
		for i := start; i < min(start+publishChunk, len(evs)); i++ {
			ev := &evs[i]
			data, err := json.Marshal(ev)
			if err != nil {
				return fmt.Errorf("encode event %s: %w", ev.ID, err)
			}
			msgs = append(msgs, Message{ID: ev.ID, Key: cairn.PartitionKey(ev), Data: data})
		}
		if err := b.PublishMessages(ctx, msgs); err != nil {
			return err
		}
	}
	return nil
}

// Message is what a bus carries when it carries something else than
// events (correlation hits forwarded to the worker of their group).
type Message struct {
	// ID identifies the message: one published twice within the
	// stream's duplicate window is stored once.
	ID string
	// Key is what the message is partitioned by: partition
	// cairn.KeyHash(Key) % partitions, as events by their partition key.
	Key  string
	Data []byte
}

// PublishMessages publishes msgs and returns once JetStream has stored all
// of them.
func (b *Bus) PublishMessages(ctx context.Context, msgs []Message) error {
	for start := 0; start < len(msgs); start += publishChunk {
		end := min(start+publishChunk, len(msgs))
		futures := make([]jetstream.PubAckFuture, 0, end-start)
		for i := start; i < end; i++ {
			m := &msgs[i]
			f, err := b.js.PublishMsgAsync(&nats.Msg{Subject: b.subject(b.partitionOf(m.Key)), Data: m.Data}, jetstream.WithMsgID(m.ID))
			if err != nil {
				return fmt.Errorf("publish %s: %w", m.ID, err)
			}
			futures = append(futures, f)
		}
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				if full(err) {
					return cairn.Errorf(cairn.EUNAVAILABLE, "the bus is full (%v): try again later", err)
				}
				return fmt.Errorf("publish %s: %w", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}
