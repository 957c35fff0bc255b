package pdclient

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"syscall"
	"time"
)

// RetryPolicy bounds the retries of one call. Zero fields take the defaults
// (4 attempts, 500ms base delay, 30s max delay, 60s max elapsed); MaxAttempts 1
// disables retries.
//
// A Retry-After header (seconds or HTTP date) sets the wait; otherwise the wait
// grows exponentially from BaseDelay with jitter, capped at MaxDelay. A call
// gives up, returning the last error, when the attempts are used up, when a
// Retry-After asks for more than MaxDelay, when the wait would take the call
// past MaxElapsed since its first attempt, or past the context's deadline.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts, the first one included.
	MaxAttempts int
	// BaseDelay is the wait after the first failed attempt (before jitter).
	BaseDelay time.Duration
	// MaxDelay caps a single wait, Retry-After included.
	MaxDelay time.Duration
	// MaxElapsed caps the time from the first attempt to the start of the last.
	MaxElapsed time.Duration
}

// defaultRetryPolicy fills the zero fields of a RetryPolicy.
var defaultRetryPolicy = RetryPolicy{
	MaxAttempts: 4,
	BaseDelay:   500 * time.Millisecond,
	MaxDelay:    30 * time.Second,
	MaxElapsed:  60 * time.Second,
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = defaultRetryPolicy.MaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = defaultRetryPolicy.BaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = defaultRetryPolicy.MaxDelay
	}
	if p.MaxElapsed == 0 {
		p.MaxElapsed = defaultRetryPolicy.MaxElapsed
	}
	return p
}

// backoff is the jittered exponential wait after the given failed attempt
// (1-based): a random duration in [d/2, d] with d = BaseDelay*2^(attempt-1),
// capped at MaxDelay.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if d <= 1 {
		return d
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// retryKind says which failures of a request may be retried.
type retryKind int

const (
	// retryRead is for reads and for POSTs without side effects (configure,
	// props, tokens) and idempotent runs: 408, 429, 5xx and connection failures.
	retryRead retryKind = iota
	// retryRun is for actions/run: only 429 and requests that never left the
	// client (no token, connection refused), since a retry could run the
	// action twice.
	retryRun
)

// retryStatus reports whether an HTTP status may be retried.
func (k retryKind) retryStatus(code int) bool {
	if code == 429 {
		return true
	}
	if k == retryRun {
		return false
	}
	return code == 408 || code >= 500
}

// retryError reports whether a transport error may be retried. sent is false
// when the request certainly never reached the API.
func (k retryKind) retryError(err error, sent bool) bool {
	if !sent {
		var ae *APIError // the token endpoint answered with an error
		if errors.As(err, &ae) {
			return retryRead.retryStatus(ae.StatusCode)
		}
		return transient(err)
	}
	return k == retryRead && transient(err)
}

// transient reports whether a network error is worth another attempt:
// connection resets and refusals, a connection closed mid-response, timeouts.
func transient(err error) bool {
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dialError reports whether err happened while connecting, so the request was
// never sent.
func dialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// sleep waits before the next attempt, after attempt failed with cause. It
// returns false, without waiting, when the policy or the context's deadline
// leaves no room for another attempt, and false when ctx ends during the wait.
// A retry is logged at warn level under ctx (a tool call's context forwards
// it to the client as a log notification).
func (c *Client) sleep(ctx context.Context, attempt int, retryAfter time.Duration, start time.Time, path string, cause error) bool {
	p := c.retry
	wait := retryAfter
	if wait <= 0 {
		wait = p.backoff(attempt)
	} else if wait > p.MaxDelay {
		return false
	}
	if time.Since(start)+wait > p.MaxElapsed {
		return false
	}
	if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
		return false
	}
	attrs := []slog.Attr{slog.String("endpoint", EndpointName(path)), slog.Int("attempt", attempt+1), slog.Int("max_attempts", p.MaxAttempts), slog.Duration("wait", wait)}
	if cause != nil {
		attrs = append(attrs, slog.String("error", c.redact.redact(cause.Error())))
	}
	c.logger.LogAttrs(ctx, slog.LevelWarn, "pipedream request failed; retrying", attrs...)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
