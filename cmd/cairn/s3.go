package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cairn-cdr/cairn"
	"github.com/cairn-cdr/cairn/decode"
	"github.com/cairn-cdr/cairn/ingest"
	"github.com/cairn-cdr/cairn/internal/termsafe"
	"github.com/cairn-cdr/cairn/s3src"
)

// startS3 reads CloudTrail from s3://bucket/prefix in the background
// until ctx ends: every poll's new files through ingestFn, marked done
// (the checkpoint saved beside --checkpoints) only once stored.
func startS3(ctx context.Context, e *env, url, region, endpoint, checkpoints string,
	ingestFn func(context.Context, []ingest.Input, decode.Format) (*ingest.Report, error), log *slog.Logger) error {
	if url == "" {
		return nil
	}
	if checkpoints == "" {
		return cairn.Errorf(cairn.EINVALID, "--cloudtrail-s3 needs --checkpoints FILE (where what was read is kept)")
	}
	bucket, prefix, err := s3src.ParseURL(url)
	if err != nil {
		return err
	}
	client, err := s3src.NewClient(ctx, region, endpoint)
	if err != nil {
		return err
	}
	src := s3src.New(client, s3src.Options{Bucket: bucket, Prefix: prefix, Checkpoints: checkpoints + ".s3.json", Logger: log})
	go func() {
		err := src.Run(ctx, func(ctx context.Context, in []ingest.Input) error {
			rep, err := ingestFn(ctx, in, decode.CloudTrail)
			if err == nil && len(rep.Failures) > 0 { // a file not read must not be marked done
				err = fmt.Errorf("%d S3 files not read: %s", len(rep.Failures), rep.Failures[0].Reason)
			}
			return err
		})
		if err != nil && ctx.Err() == nil {
			log.Error("cloudtrail-s3 stopped", "err", err)
		}
	}()
	fmt.Fprintf(e.stdout, "reading CloudTrail from %s\n", termsafe.String(url))
	return nil
}
