// Package s3src reads CloudTrail log files from an S3 bucket as they are
// delivered, for ingest.Run.
//
// CloudTrail writes each trail's files under one folder per account and
// region, AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/ (organization
// trails: AWSLogs/<org-id>/<account>/CloudTrail/<region>/...), and names
// each file <account>_CloudTrail_<region>_YYYYMMDDTHHmmZ_<unique>.json.gz
// after the minute it was delivered. Keys therefore sort by time within one
// account and region (a "stream"), but not across streams: a single
// "greatest key seen" over the whole bucket would skip every file that
// us-east-1 delivers after eu-west-1 was read. The source keeps one
// checkpoint per stream instead, and lists each stream with StartAfter.
//
// Within a stream, files of the same minute sort by their random unique
// string, not by arrival, so a file can arrive after a greater one of the
// same minute was read. The checkpoint of a stream is therefore the
// minute of its greatest key processed plus the keys of that minute
// already processed: listing starts at that minute and skips those keys.
// A file delivered late into a minute before the checkpoint's (a clock
// step back at AWS) would be missed; CloudTrail does not do that.
package s3src

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/internal/atomicfile"
)

// S3API is what the source needs from S3; *s3.Client satisfies it.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ S3API = (*s3.Client)(nil)

// Options configures a Source.
type Options struct {
	Bucket string
	// Prefix is where the trail's folders are, usually "AWSLogs/" (or the
	// trail's own S3 key prefix followed by "AWSLogs/"). It may also name
	// one stream, as "AWSLogs/111122223333/CloudTrail/us-east-1/".
	Prefix string
	// Checkpoints is the JSON file keeping, per stream, what has been
	// processed; it is written atomically (a temporary file renamed).
	// "" keeps checkpoints in memory only: a restart reads everything
	// again.
	Checkpoints string
	// Poll is the time between polls in Run; 0 means one minute.
	Poll time.Duration
	// MaxPerPoll caps the files one Poll returns, so that a first run
	// over years of logs stores them in rounds; 0 means 1,000.
	MaxPerPoll int
	// Logger receives one line per failed poll or store in Run; nil
	// discards.
	Logger *slog.Logger
}

// Source lists the CloudTrail files of a bucket not yet processed.
type Source struct {
	client S3API
	opts   Options
	log    *slog.Logger

	mu     sync.Mutex
	loaded bool
	cps    map[string]checkpoint // by "s3://bucket/stream"
}

// checkpoint is what one stream has processed: Minute is the greatest
// processed key cut before its unique string (every key of the same
// minute sorts after it), Seen the processed keys of that minute.
type checkpoint struct {
	Minute string   `json:"minute"`
	Seen   []string `json:"seen"`
}

// New returns a source reading opts.Bucket through client.
func New(client S3API, opts Options) *Source {
	if opts.Poll <= 0 {
		opts.Poll = time.Minute
	}
	if opts.MaxPerPoll <= 0 {
		opts.MaxPerPoll = 1000
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{client: client, opts: opts, log: log, cps: map[string]checkpoint{}}
}

// streamRE matches a stream folder: the last two segments are CloudTrail
// and a region.
var streamRE = regexp.MustCompile(`(^|/)CloudTrail/[^/]+/$`)

// maxDepth bounds the folder walk below Prefix: an organization trail
// under "" is AWSLogs/<org>/<account>/CloudTrail/<region>/, five levels.
const maxDepth = 6

// streams walks the folders below Prefix and returns the stream folders,
// sorted. It skips digest and Insights folders (CloudTrail-Digest/,
// CloudTrail-Insight/), which hold other formats.
func (s *Source) streams(ctx context.Context) ([]string, error) {
	if streamRE.MatchString(s.opts.Prefix) {
		return []string{s.opts.Prefix}, nil
	}
	var out []string
	var walk func(prefix string, depth int) error
	walk = func(prefix string, depth int) error {
		var token *string
		for {
			page, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
				Bucket:            aws.String(s.opts.Bucket),
				Prefix:            aws.String(prefix),
				Delimiter:         aws.String("/"),
				ContinuationToken: token,
			})
			if err != nil {
				return fmt.Errorf("list s3://%s/%s: %w", s.opts.Bucket, prefix, err)
			}
			for _, cp := range page.CommonPrefixes {
				p := aws.ToString(cp.Prefix)
				seg := strings.TrimSuffix(p[len(prefix):], "/")
				switch {
				case streamRE.MatchString(p):
					out = append(out, p)
				case strings.HasPrefix(seg, "CloudTrail-"):
				case depth < maxDepth:
					if err := walk(p, depth+1); err != nil {
						return err
					}
				}
			}
			if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
				return nil
			}
			token = page.NextContinuationToken
		}
	}
	if err := walk(s.opts.Prefix, 1); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return out, nil
}

// minuteOf cuts key before its unique string: the file name's last "_".
// A key without one is its own minute.
func minuteOf(key string) string {
	base := strings.LastIndexByte(key, '/') + 1
	if i := strings.LastIndexByte(key[base:], '_'); i >= 0 {
		return key[:base+i]
	}
	return key
}

// Poll returns the files not yet processed, oldest first within each
// stream, at most MaxPerPoll of them. Each Input's Origin is
// "s3://bucket/key" and its Open reads the object (gzip, which
// decode.Decode gunzips). Poll does not advance the checkpoints: call Done
// with the keys once they are stored. Only .json.gz files are returned.
func (s *Source) Poll(ctx context.Context) ([]ingest.Input, error) {
	if err := s.load(); err != nil {
		return nil, err
	}
	streams, err := s.streams(ctx)
	if err != nil {
		return nil, err
	}
	var out []ingest.Input
	for _, st := range streams {
		s.mu.Lock()
		cp := s.cps[s.name(st)]
		s.mu.Unlock()
		seen := make(map[string]bool, len(cp.Seen))
		for _, k := range cp.Seen {
			seen[k] = true
		}
		in := &s3.ListObjectsV2Input{Bucket: aws.String(s.opts.Bucket), Prefix: aws.String(st)}
		if cp.Minute != "" {
			in.StartAfter = aws.String(cp.Minute)
		}
	pages:
		for {
			page, err := s.client.ListObjectsV2(ctx, in)
			if err != nil {
				return out, fmt.Errorf("list s3://%s/%s: %w", s.opts.Bucket, st, err)
			}
			for _, obj := range page.Contents {
				key := aws.ToString(obj.Key)
				if seen[key] || !strings.HasSuffix(key, ".json.gz") {
					continue
				}
				out = append(out, s.input(key, aws.ToInt64(obj.Size)))
				if len(out) >= s.opts.MaxPerPoll {
					return out, nil
				}
			}
			if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
				break pages
			}
			in.ContinuationToken = page.NextContinuationToken
		}
	}
	return out, nil
}

func (s *Source) input(key string, size int64) ingest.Input {
	bucket := s.opts.Bucket
	return ingest.Input{
		Origin: "s3://" + bucket + "/" + key,
		Size:   size,
		Open: func() (io.ReadCloser, error) {
			// ingest opens inputs without a context; the read is bounded
			// by the client's own timeouts.
			out, err := s.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
			}
			return out.Body, nil
		},
	}
}

// Key returns the object key of an Input that Poll returned.
func (s *Source) Key(in ingest.Input) string {
	return strings.TrimPrefix(in.Origin, "s3://"+s.opts.Bucket+"/")
}

func (s *Source) name(stream string) string { return "s3://" + s.opts.Bucket + "/" + stream }

// Done records keys (as Poll returned them) as processed and saves the
// checkpoints. Call it only once they are stored: a crash between storing
// and Done reads them again, and the store drops the duplicate events.
func (s *Source) Done(keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if err := s.load(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	byStream := map[string][]string{}
	for _, k := range keys {
		st := streamPrefix(k)
		byStream[st] = append(byStream[st], k)
	}
	for st, ks := range byStream {
		name := s.name(st)
		cp := s.cps[name]
		for _, k := range ks {
			m := minuteOf(k)
			switch {
			case m > cp.Minute:
				cp = checkpoint{Minute: m, Seen: []string{k}}
			case m == cp.Minute && !contains(cp.Seen, k):
				cp.Seen = append(cp.Seen, k)
			}
		}
		sort.Strings(cp.Seen)
		s.cps[name] = cp
	}
	return s.save()
}

// streamPrefix returns the stream folder of key: up to and including the
// region after the last "CloudTrail" folder (a trail's own key prefix may
// contain one too), or key's folder when it has none.
func streamPrefix(key string) string {
	parts := strings.Split(key, "/")
	for i := len(parts) - 3; i >= 0; i-- {
		if parts[i] == "CloudTrail" {
			return strings.Join(parts[:i+2], "/") + "/"
		}
	}
	return key[:strings.LastIndexByte(key, '/')+1]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// load reads the checkpoint file once; a missing file is no checkpoints.
func (s *Source) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loaded || s.opts.Checkpoints == "" {
		s.loaded = true
		return nil
	}
	b, err := os.ReadFile(s.opts.Checkpoints)
	if errors.Is(err, fs.ErrNotExist) {
		s.loaded = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("read checkpoints: %w", err)
	}
	if err := json.Unmarshal(b, &s.cps); err != nil {
		return cairn.Errorf(cairn.EINVALID, "checkpoint file %s is not valid JSON: %v", s.opts.Checkpoints, err)
	}
	if s.cps == nil {
		s.cps = map[string]checkpoint{}
	}
	s.loaded = true
	return nil
}

// save writes the checkpoints to a temporary file in the same folder and
// renames it over the file, so a crash leaves the old or the new one.
// Called with s.mu held.
func (s *Source) save() error {
	if s.opts.Checkpoints == "" {
		return nil
	}
	b, err := json.MarshalIndent(s.cps, "", "  ")
	if err != nil {
		return fmt.Errorf("encode checkpoints: %w", err)
	}
	if err := atomicfile.Write(s.opts.Checkpoints, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write checkpoints: %w", err)
	}
	return nil
}

// Run polls until ctx ends: every new batch of files is passed to store,
// and Done is called once store returns nil. A failed poll or store is
// logged and tried again at the next poll (nothing is marked done); a
// checkpoint that cannot be saved ends Run with the error. When a poll
// returns MaxPerPoll files, the next poll starts at once.
func (s *Source) Run(ctx context.Context, store func(context.Context, []ingest.Input) error) error {
	for {
		full := false
		inputs, err := s.Poll(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("poll CloudTrail bucket", "bucket", s.opts.Bucket, "err", err)
		}
		if err == nil && len(inputs) > 0 {
			if err := store(ctx, inputs); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.log.Warn("store CloudTrail files", "bucket", s.opts.Bucket, "files", len(inputs), "err", err)
			} else {
				keys := make([]string, len(inputs))
				for i, in := range inputs {
					keys[i] = s.Key(in)
				}
				if err := s.Done(keys); err != nil {
					return err
				}
				full = len(inputs) >= s.opts.MaxPerPoll
			}
		}
		if full {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.opts.Poll):
		}
	}
}
