package translate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTTL parses a ttl annotation as ExternalDNS does: a Go duration ("2m",
// "20.5s", truncated to whole seconds) or else a whole number of seconds,
// in 1..2147483647.
func ParseTTL(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	var secs int64
	if d, err := time.ParseDuration(s); err == nil {
		secs = int64(d / time.Second)
	} else if n, nerr := strconv.ParseInt(s, 10, 64); nerr == nil {
		secs = n
	} else {
		return 0, fmt.Errorf("not a number of seconds or a duration")
	}
	if secs < 1 || secs > 2147483647 {
		return 0, fmt.Errorf("out of range 1..2147483647")
	}
	return uint32(secs), nil
}
