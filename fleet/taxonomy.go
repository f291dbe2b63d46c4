package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
)

// The predicates below are the questions the bridge asks of a failed call.
// They live here, beside the status codes and transport errors they read,
// so that no caller ever classifies a Fleet error by its message text.

// MayHaveRun reports whether a failed command may nevertheless have been
// executed by the car or the energy site, so that its outcome is unknown
// rather than failed and it must not be sent again blindly (a trunk
// toggles). That is the case when the request may have left this host but
// no conclusive answer came back:
//   - ErrMayHaveSucceeded (the signed path lost the car's answer);
//   - ErrTimeout, context.DeadlineExceeded or context.Canceled: the
//     request may have been on the wire when the wait ended;
//   - 503 or 504 (ErrServer): a gateway gave up while the car may have acted;
//   - ErrNetwork: the connection broke after the request may have been sent.
//
// It is false for nil, for any other answer (Tesla refused before running
// it) and for transport failures that provably sent nothing (APIError.Unsent:
// DNS, connect, TLS).
func MayHaveRun(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.Unsent {
		return false
	}
	switch {
	case errors.Is(err, ErrMayHaveSucceeded),
		errors.Is(err, ErrTimeout),
		errors.Is(err, ErrNetwork),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return true
	case errors.Is(err, ErrServer):
		s := StatusOf(err)
		return s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout
	}
	return false
}

// Temporary reports whether a failure says the service is in trouble
// rather than the request wrong: 5xx, timeouts, network errors, truncated or
// malformed answers. The same read may succeed later, after a back-off.
// Rate limits (ErrRateLimited) are not included: they carry their own wait
// (RetryAfterOf). A command is retried only when it is Temporary and not
// MayHaveRun.
func Temporary(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrServer),
		errors.Is(err, ErrTimeout),
		errors.Is(err, ErrNetwork),
		errors.Is(err, ErrMalformed):
		return true
	}
	return StatusOf(err) >= 500
}

// ErrForState returns the error a car in Fleet state state stands for when
// something needs it online: nil for StateOnline, ErrAsleep for
// StateAsleep, ErrOffline for StateOffline (no connection: a wake will not
// reach it) and for any state Tesla may add later, since "not online and
// not known to be asleep" is the cautious reading.
func ErrForState(state string) error {
	switch state {
	case StateOnline:
		return nil
	case StateAsleep:
		return ErrAsleep
	}
	return ErrOffline
}

// unsent reports whether a transport error proves the request never left
// this host: name resolution, connecting, or the TLS handshake failed.
// Anything else (a reset, EOF, a timeout while reading) may have come after
// the request was written.
func unsent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var (
		verify  *tls.CertificateVerificationError
		record  tls.RecordHeaderError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &record) || errors.As(err, &unknown) ||
		errors.As(err, &host) || errors.As(err, &invalid)
}
