package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"go.temporal.io/sdk/activity"

	"reallabor/internal/store"
)

// ErrPrivateAddress is the refusal of a webhook address: it may not reach this host, its network or
// link-local addresses (SSRF) unless WEBHOOK_ALLOW_PRIVATE allows it.
var ErrPrivateAddress = errors.New("webhook address is loopback, private or link-local")

// PrivateAddress reports whether ip is one a webhook may not reach.
func PrivateAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() ||
		netip.MustParsePrefix("100.64.0.0/10").Contains(ip) // carrier-grade NAT
}

// WebhookClient is the HTTP client of deliveries: the address actually
// dialled is checked (a name that resolves to a private address, or is
// rebound to one, is refused), no redirects, 10 s per attempt.
func WebhookClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		if allowPrivate {
			return nil
		}
		ap, err := netip.ParseAddrPort(address)
		if err != nil || PrivateAddress(ap.Addr()) {
			return fmt.Errorf("%w: %s", ErrPrivateAddress, address)
		}
		return nil
	}}
	return &http.Client{Timeout: 10 * time.Second,
		Transport:     &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// tries are the attempts a delivery makes within one activity attempt
// before Temporal's retry policy takes over (backoff for about a day).
var tries = []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond}

// deliverWebhooks sends each pending delivery, signed per the Standard
// Webhooks specification (webhook-id, webhook-timestamp, webhook-signature
// v1,<base64 HMAC-SHA256 of id.timestamp.body>), logging every attempt. A
// delivered one is never sent again; the last activity attempt records
// what is left as failed.
func (l *Ledger) deliverWebhooks(ctx context.Context, ids []string, last bool) error {
	if len(ids) == 0 {
		return nil
	}
	ds, hooks, err := l.Store.PendingDeliveries(ctx, ids)
	if err != nil {
		return err
	}
	client := l.Webhooks
	if client == nil {
		client = WebhookClient(false)
	}
	var retry error
	for _, d := range ds {
		h := hooks[d.WebhookID]
		code, err := send(ctx, client, h, d)
		for _, wait := range tries[1:] {
			if err == nil {
				break
			}
			_ = l.Store.RecordAttempt(ctx, d.ID, "pending", code, err.Error(), time.Now())
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
			code, err = send(ctx, client, h, d)
		}
		switch {
		case err == nil:
			if err := l.Store.RecordAttempt(ctx, d.ID, "delivered", code, "", time.Now()); err != nil {
				return err
			}
			l.count("webhook:"+d.Kind, "sent")
		case last || errors.Is(err, ErrPrivateAddress):
			activity.GetLogger(ctx).Warn("webhook not delivered", "delivery", d.ID, "error", err)
			if err := l.Store.RecordAttempt(ctx, d.ID, "failed", code, err.Error(), time.Now()); err != nil {
				return err
			}
			l.count("webhook:"+d.Kind, "failed")
		default:
			_ = l.Store.RecordAttempt(ctx, d.ID, "pending", code, err.Error(), time.Now())
			retry = err
		}
	}
	return retry
}

func send(ctx context.Context, client *http.Client, h store.Webhook, d store.WebhookDelivery) (int, error) {
	wh, err := standardwebhooks.NewWebhook(h.Secret)
	if err != nil {
		return 0, err
	}
	now := time.Now()
	sig, err := wh.Sign(d.ID, now, []byte(d.Payload))
	if err != nil {
		return 0, err
	}
	u, err := url.Parse(h.URL)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader([]byte(d.Payload)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
