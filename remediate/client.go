package remediate

import (
	"context"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/cairn-cdr/cairn"
)

// NewClient returns an IAM client signing with creds. endpoint overrides
// the IAM endpoint (a test server, a FIPS or private endpoint); "" uses
// the partition's own. IAM is global: region only selects the partition
// and the signing region, and "" means us-east-1.
func NewClient(ctx context.Context, endpoint, region string, creds aws.CredentialsProvider) (*iam.Client, error) {
	if creds == nil {
		return nil, cairn.Errorf(cairn.EINVALID, "no AWS credentials")
	}
	if region == "" {
		region = "us-east-1"
	}
	o := iam.Options{Region: region, Credentials: aws.NewCredentialsCache(creds)}
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, cairn.Errorf(cairn.EINVALID, "IAM endpoint %q is not an http(s) URL", endpoint)
		}
		o.BaseEndpoint = aws.String(endpoint)
	}
	return iam.New(o), nil
}
