package route53

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

const (
	// retryAttempts is how many times one request is tried before the
	// mirror gives up on it for this sync (and retries it in the next).
	retryAttempts = 10
	// retryBase is the first backoff step; it doubles per attempt.
	retryBase = 200 * time.Millisecond
	// retryMax caps one backoff delay.
	retryMax = 20 * time.Second
)

// NewClient returns a Route 53 client configured from the standard AWS SDK
// chain: environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION, ...), the
// shared config and credentials files, web identity (EKS IRSA), EKS Pod
// Identity and ECS container credentials, and the EC2 instance role. cfg may
// name a profile, a credentials file, a role to assume, a region and an
// endpoint URL (BaseEndpoint) for VPC endpoints or emulators. The client
// retries throttling and server errors with exponential backoff and jitter.
func NewClient(ctx context.Context, cfg Config) (*route53.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer { return newRetryer(retryBase) }),
	}
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.CredentialsFile != "" {
		opts = append(opts, config.WithSharedCredentialsFiles([]string{cfg.CredentialsFile}))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if awsCfg.Region == "" {
		awsCfg.Region = DefaultRegion
	}
	if cfg.AssumeRole != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(awsCfg), cfg.AssumeRole, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "clusterzone"
			if cfg.ExternalID != "" {
				o.ExternalID = aws.String(cfg.ExternalID)
			}
		})
		awsCfg.Credentials = aws.NewCredentialsCache(provider)
	}
	return route53.NewFromConfig(awsCfg, func(o *route53.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	}), nil
}

// newRetryer returns the SDK's standard retryer with Route 53 in mind: more
// attempts, no client-side retry quota (a long throttling spell must not
// turn into hard failures), exponential backoff with jitter from base, and
// HTTP 400 "Rate exceeded" answers retried like throttling. Every retry is
// counted in the errors metric.
func newRetryer(base time.Duration) aws.RetryerV2 {
	std := retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = retryAttempts
		o.MaxBackoff = retryMax
		o.RateLimiter = ratelimit.None
		o.Backoff = jitterBackoff{base: base, max: retryMax}
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if errorKind(err) == "throttled" {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
	return countingRetryer{std}
}

// jitterBackoff is exponential backoff with "equal jitter": half the step
// fixed, half random, so throttled callers spread out but always wait.
type jitterBackoff struct{ base, max time.Duration }

// BackoffDelay implements retry.BackoffDelayer.
func (b jitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	d := b.max
	if attempt < 20 {
		if s := b.base << attempt; s > 0 && s < b.max {
			d = s
		}
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1)), nil
}

// countingRetryer counts every retry by the kind of error that caused it.
type countingRetryer struct{ aws.RetryerV2 }

// RetryDelay implements aws.Retryer; the SDK calls it once per retry.
func (r countingRetryer) RetryDelay(attempt int, err error) (time.Duration, error) {
	errorsCount.WithLabelValues(errorKind(err)).Inc()
	return r.RetryerV2.RetryDelay(attempt, err)
}

// isThrottleCode reports whether code is one of Route 53's (and AWS's)
// throttling error codes.
func isThrottleCode(code string) bool {
	switch code {
	case "Throttling", "ThrottlingException", "PriorRequestNotComplete", "RequestLimitExceeded", "TooManyRequestsException":
		return true
	}
	return false
}

// errorKind classifies an API error for metrics and handling: "throttled",
// "server_error", "invalid_change" (Route 53 rejected the batch's content),
// "canceled" or "request" (anything else).
func errorKind(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled"
	}
	var icb *types.InvalidChangeBatch
	if errors.As(err, &icb) {
		return "invalid_change"
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if isThrottleCode(ae.ErrorCode()) {
			return "throttled"
		}
		switch ae.ErrorCode() {
		case "InvalidChangeBatch", "InvalidInput":
			return "invalid_change"
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status := re.HTTPStatusCode()
		if status == http.StatusBadRequest && ae != nil && strings.Contains(strings.ToLower(ae.ErrorMessage()), "rate exceeded") {
			return "throttled"
		}
		if status == http.StatusTooManyRequests {
			return "throttled"
		}
		if status >= 500 {
			return "server_error"
		}
	}
	return "request"
}
