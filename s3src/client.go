package s3src

import (
	"context"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/cairn-cdr/cairn"
)

// NewClient returns an S3 client configured by the standard AWS chain
// (environment, shared config and credentials files, SSO, web identity,
// container and instance roles). region overrides the chain's region and
// must be the bucket's; endpoint overrides the S3 endpoint (a test server,
// MinIO, a VPC endpoint) and switches to path-style addressing.
func NewClient(ctx context.Context, region, endpoint string) (*s3.Client, error) {
	var opts []func(*config.LoadOptions) error
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, cairn.Errorf(cairn.EINVALID, "AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		return nil, cairn.Errorf(cairn.EINVALID, "no AWS region: set AWS_REGION to the bucket's region")
	}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, cairn.Errorf(cairn.EINVALID, "S3 endpoint %q is not an http(s) URL", endpoint)
		}
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	}), nil
}

// ParseURL splits "s3://bucket/prefix" into bucket and prefix; a prefix
// that is not empty gets a trailing "/", since it names a folder.
func ParseURL(raw string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(raw, "s3://")
	if !ok {
		return "", "", cairn.Errorf(cairn.EINVALID, "%q is not an s3:// URL", raw)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", cairn.Errorf(cairn.EINVALID, "%q names no bucket", raw)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return bucket, prefix, nil
}
