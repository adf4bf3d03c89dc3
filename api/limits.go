package api

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Limits per identity. Before authentication every caller is its client IP
// (forwarded headers count only from the configured proxies); failed
// authentications have a budget of their own per IP; after authentication
// each user has its own budget, however the token is written.

// limiterSet holds one token bucket per key, forgetting idle ones. (Echo's
// limiter store cannot say whether a bucket is empty without taking a token,
// which the failed-authentication budget needs.)
type limiterSet struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	byKey map[string]*entry
	swept time.Time
}

type entry struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiterSet(perSecond float64, burst int) *limiterSet {
	return &limiterSet{every: rate.Limit(perSecond), burst: burst, byKey: map[string]*entry{}}
}

func (s *limiterSet) get(key string) *rate.Limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if now.Sub(s.swept) > time.Minute {
		for k, e := range s.byKey {
			if now.Sub(e.seen) > 5*time.Minute {
				delete(s.byKey, k)
			}
		}
		s.swept = now
	}
	e, ok := s.byKey[key]
	if !ok {
		e = &entry{l: rate.NewLimiter(s.every, s.burst)}
		s.byKey[key] = e
	}
	e.seen = now
	return e.l
}

// allow takes one token for key.
func (s *limiterSet) allow(key string) bool { return s.get(key).Allow() }

// exhausted says key has no token left, without taking one.
func (s *limiterSet) exhausted(key string) bool { return s.get(key).Tokens() < 1 }

// limits are the API's three budgets.
type limits struct {
	perIP, failedAuth, perUser *limiterSet
}

// newLimits: each user perSecond (bursts of twice that), each client IP five
// times that before authentication, and ten failed authentications per IP,
// refilled one every six seconds.
func newLimits(perSecond float64) *limits {
	return &limits{
		perIP:      newLimiterSet(5*perSecond, int(10*perSecond)),
		failedAuth: newLimiterSet(1.0/6, 10),
		perUser:    newLimiterSet(perSecond, int(2*perSecond)),
	}
}

func tooMany(c echo.Context, what string) error {
	c.Response().Header().Set("Retry-After", "1")
	return problem(http.StatusTooManyRequests, "too many requests"+what+": slow down")
}

// ipExtractor reads the client's IP from the connection, or, when the
// request came through one of the trusted proxies, from X-Forwarded-For.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// ParseProxies reads TRUSTED_PROXIES: comma-separated CIDRs or addresses.
func ParseProxies(s string) ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if !strings.Contains(p, "/") {
			if ip := net.ParseIP(p); ip != nil && ip.To4() != nil {
				p += "/32"
			} else {
				p += "/128"
			}
		}
		_, n, err := net.ParseCIDR(p)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// knownMethods bound the method label of the metrics.
var knownMethods = map[string]bool{http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodHead: true, http.MethodOptions: true}

func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "OTHER"
}
