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

// canonicalZoneOf returns the hosted zone id of AWS load balancers whose DNS
// names end in suffix (https://docs.aws.amazon.com/general/latest/gr/elb.html):
// ALB and CLB names end in REGION.elb.amazonaws.com, NLB names in
// elb.REGION.amazonaws.com.
func canonicalZoneOf(suffix string) string {
	switch suffix {
	// Application and Classic Load Balancers.
	case "us-east-2.elb.amazonaws.com":
		return "Z3AADJGX6KTTL2"
	case "us-east-1.elb.amazonaws.com":
		return "Z35SXDOTRQ7X7K"
	case "us-west-1.elb.amazonaws.com":
		return "Z368ELLRRE2KJ0"
	case "us-west-2.elb.amazonaws.com":
		return "Z1H1FL5HABSF5"
	case "ca-central-1.elb.amazonaws.com":
		return "ZQSVJUPU6J1EY"
	case "ca-west-1.elb.amazonaws.com":
		return "Z06473681N0SF6OS049SD"
	case "ap-east-1.elb.amazonaws.com":
		return "Z3DQVH9N71FHZ0"
	case "ap-south-1.elb.amazonaws.com":
		return "ZP97RAFLXTNZK"
	case "ap-south-2.elb.amazonaws.com":
		return "Z0173938T07WNTVAEPZN"
	case "ap-northeast-1.elb.amazonaws.com":
		return "Z14GRHDCWA56QT"
	case "ap-northeast-2.elb.amazonaws.com":
		return "ZWKZPGTI48KDX"
	case "ap-northeast-3.elb.amazonaws.com":
		return "Z5LXEXXYW11ES"
	case "ap-southeast-1.elb.amazonaws.com":
		return "Z1LMS91P8CMLE5"
	case "ap-southeast-2.elb.amazonaws.com":
		return "Z1GM3OXH4ZPM65"
	case "ap-southeast-3.elb.amazonaws.com":
		return "Z08888821HLRG5A9ZRTER"
	case "ap-southeast-4.elb.amazonaws.com":
		return "Z09517862IB2WZLPXG76F"
	case "ap-southeast-5.elb.amazonaws.com":
		return "Z06010284QMVVW7WO5J"
	case "ap-southeast-7.elb.amazonaws.com":
		return "Z0390008CMBRTHFGWBCB"
	case "eu-central-1.elb.amazonaws.com":
		return "Z215JYRZR1TBD5"
	case "eu-central-2.elb.amazonaws.com":
		return "Z06391101F2ZOEP8P5EB3"
	case "eu-west-1.elb.amazonaws.com":
		return "Z32O12XQLNTSW2"
	case "eu-west-2.elb.amazonaws.com":
		return "ZHURV8PSTC4K8"
	case "eu-west-3.elb.amazonaws.com":
		return "Z3Q77PNBQS71R4"
	case "eu-north-1.elb.amazonaws.com":
		return "Z23TAZ6LKFMNIO"
	case "eu-south-1.elb.amazonaws.com":
		return "Z3ULH7SSC9OV64"
	case "eu-south-2.elb.amazonaws.com":
		return "Z0956581394HF5D5LXGAP"
	case "il-central-1.elb.amazonaws.com":
		return "Z09170902867EHPV2DABU"
	case "me-central-1.elb.amazonaws.com":
		return "Z08230872XQRWHG2XF6I"
	case "mx-central-1.elb.amazonaws.com":
		return "Z023552324OKD1BB28BH5"
	case "me-south-1.elb.amazonaws.com":
		return "ZS929ML54UICD"
	case "af-south-1.elb.amazonaws.com":
		return "Z268VQBMOI5EKX"
	case "sa-east-1.elb.amazonaws.com":
		return "Z2P70J7HTTTPLU"
	case "us-gov-west-1.elb.amazonaws.com":
		return "Z33AYJ8TM3BH4J"
	case "us-gov-east-1.elb.amazonaws.com":
		return "Z166TLBEWOO7G0"
	case "cn-north-1.elb.amazonaws.com.cn":
		return "Z1GDH35T77C1KE"
	case "cn-northwest-1.elb.amazonaws.com.cn":
		return "ZM7IZAIOVVDZF"
	// Network Load Balancers.
	case "elb.us-east-2.amazonaws.com":
		return "ZLMOA37VPKANP"
	case "elb.us-east-1.amazonaws.com":
		return "Z26RNL4JYFTOTI"
	case "elb.us-west-1.amazonaws.com":
		return "Z24FKFUX50B4VW"
	case "elb.us-west-2.amazonaws.com":
		return "Z18D5FSROUN65G"
	case "elb.ca-central-1.amazonaws.com":
		return "Z2EPGBW3API2WT"
	case "elb.ca-west-1.amazonaws.com":
		return "Z02754302KBB00W2LKWZ9"
	case "elb.ap-east-1.amazonaws.com":
		return "Z12Y7K3UBGUAD1"
	case "elb.ap-south-1.amazonaws.com":
		return "ZVDDRBQ08TROA"
	case "elb.ap-south-2.amazonaws.com":
		return "Z0711778386UTO08407HT"
	case "elb.ap-northeast-1.amazonaws.com":
		return "Z31USIVHYNEOWT"
	case "elb.ap-northeast-2.amazonaws.com":
		return "ZIBE1TIR4HY56"
	case "elb.ap-northeast-3.amazonaws.com":
		return "Z1GWIQ4HH19I5X"
	case "elb.ap-southeast-1.amazonaws.com":
		return "ZKVM4W9LS7TM"
	case "elb.ap-southeast-2.amazonaws.com":
		return "ZCT6FZBF4DROD"
	case "elb.ap-southeast-3.amazonaws.com":
		return "Z01971771FYVNCOVWJU1G"
	case "elb.ap-southeast-4.amazonaws.com":
		return "Z01156963G8MIIL7X90IV"
	case "elb.ap-southeast-5.amazonaws.com":
		return "Z026317210H9ACVTRO6FB"
	case "elb.ap-southeast-7.amazonaws.com":
		return "Z054363131YWATEMWRG5L"
	case "elb.eu-central-1.amazonaws.com":
		return "Z3F0SRJ5LGBH90"
	case "elb.eu-central-2.amazonaws.com":
		return "Z02239872DOALSIDCX66S"
	case "elb.eu-west-1.amazonaws.com":
		return "Z2IFOLAFXWLO4F"
	case "elb.eu-west-2.amazonaws.com":
		return "ZD4D7Y8KGAS4G"
	case "elb.eu-west-3.amazonaws.com":
		return "Z1CMS0P5QUZ6D5"
	case "elb.eu-north-1.amazonaws.com":
		return "Z1UDT6IFJ4EJM"
	case "elb.eu-south-1.amazonaws.com":
		return "Z23146JA1KNAFP"
	case "elb.eu-south-2.amazonaws.com":
		return "Z1011216NVTVYADP1SSV"
	case "elb.il-central-1.amazonaws.com":
		return "Z0313266YDI6ZRHTGQY4"
	case "elb.me-central-1.amazonaws.com":
		return "Z00282643NTTLPANJJG2P"
	case "elb.mx-central-1.amazonaws.com":
		return "Z02031231H3ID6HYJ9A7U"
	case "elb.me-south-1.amazonaws.com":
		return "Z3QSRYVP46NYYV"
	case "elb.af-south-1.amazonaws.com":
		return "Z203XCE67M25HM"
	case "elb.sa-east-1.amazonaws.com":
		return "ZTK26PT1VY4CU"
	case "elb.us-gov-west-1.amazonaws.com":
		return "ZMG1MZ2THAWF1"
	case "elb.us-gov-east-1.amazonaws.com":
		return "Z1ZSMQQ6Q24QQ8"
	case "elb.cn-north-1.amazonaws.com.cn":
		return "Z3QFB96KMJ7ED6"
	case "elb.cn-northwest-1.amazonaws.com.cn":
		return "ZQEIKTCZ8352D"
	}
	return ""
}

// canonicalZone returns the canonical hosted zone id of an AWS load
// balancer's DNS name, or "" when host is not a known load-balancer name.
func canonicalZone(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for i := 0; i < len(host); i++ {
		if host[i] != '.' {
			continue
		}
		if id := canonicalZoneOf(host[i+1:]); id != "" {
			return id
		}
	}
	return ""
}

// unescapeName undoes Route 53's escaping of names (\052 for '*', and
// \DDD octal codes for other characters) and lower-cases the result.
func unescapeName(s string) string {
	if !strings.Contains(s, `\`) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		if c == '\\' && i+1 < len(s) {
			i++
			c = s[i]
		}
		b.WriteByte(c)
	}
	return strings.ToLower(b.String())
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
