package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// maxDriftFields bounds how many fields of an unexpected type
// decodeLenient removes from one response before it gives up.
const maxDriftFields = 64

// call describes one Fleet API request.
type call struct {
	method   string
	endpoint string     // metering name (Call*)
	device   string     // VIN or site id, "" for account-level calls
	path     string     // already escaped, starting with /api/1/
	query    url.Values // nil for none
	body     any        // POST body; nil sends {}
	out      any        // pointer receiving envelope.response; nil ignores the body
	// nullOK accepts a null/absent response (lists: null means empty).
	nullOK bool
}

// do sends one request, meters it, classifies failures and decodes the
// response into cl.out. It retries once only after a 401 that a forced
// token refresh answered with a new token (a 401 ran nothing); every other
// attempt may be billed and is never repeated.
func (c *Client) do(ctx context.Context, cl call) error {
	tok, err := c.token(ctx)
	if err != nil {
		return fmt.Errorf("%s: access token: %w", cl.endpoint, err)
	}
	err = c.send(ctx, cl, tok)
	fr, ok := c.ts.(forceRefresher)
	if !ok || !errors.Is(err, ErrUnauthorized) || tok == nil {
		return err
	}
	renewed, ferr := fr.ForceRefresh(ctx, tok.AccessToken)
	if ferr != nil {
		// login_required and friends: the caller sees why the token is dead.
		return fmt.Errorf("%w (token refresh: %w)", err, ferr)
	}
	if !renewed {
		return err
	}
	if tok, err = c.token(ctx); err != nil {
		return fmt.Errorf("%s: access token: %w", cl.endpoint, err)
	}
	return c.send(ctx, cl, tok)
}

// forceRefresher is implemented by token sources that can refresh ahead of
// the expiry when a 401 says the token was revoked (our TokenSource).
type forceRefresher interface {
	ForceRefresh(ctx context.Context, rejected string) (bool, error)
}

// send sends one request with tok, once.
func (c *Client) send(ctx context.Context, cl call, tok *oauth2.Token) error {
	var err error
	if tok == nil || tok.AccessToken == "" {
		return fmt.Errorf("%s: access token: token source returned no token", cl.endpoint)
	}

	var reqBody io.Reader
	if cl.method == http.MethodPost {
		b := []byte("{}")
		if cl.body != nil {
			if b, err = json.Marshal(cl.body); err != nil {
				return fmt.Errorf("%s: encode request body: %w", cl.endpoint, err)
			}
			if string(b) == "null" { // a nil map inside the interface
				b = []byte("{}")
			}
		}
		reqBody = bytes.NewReader(b)
	}

	// Each call gets its own deadline: the default http.Client has none and a
	// hung Fleet API connection must not block a poll cycle forever.
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	u := c.BaseURL() + cl.path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u, reqBody)
	if err != nil {
		return fmt.Errorf("%s: build request: %w", cl.endpoint, stripURL(err))
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if reqBody != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	at := c.clock.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.record(cl, 0, at, clock.Since(c.clock, at))
		return transportError(cl.endpoint, 0, err)
	}
	body, err := readLimited(resp.Body, c.maxBody)
	resp.Body.Close()
	// A response arrived, so Tesla bills it whatever happens to its body.
	c.record(cl, resp.StatusCode, at, clock.Since(c.clock, at))
	switch {
	case errors.Is(err, ErrTooLarge):
		return &APIError{Endpoint: cl.endpoint, Status: resp.StatusCode, Kind: ErrTooLarge}
	case err != nil:
		return transportError(cl.endpoint, resp.StatusCode, err)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return classify(cl.endpoint, resp.StatusCode, resp.Header, body, c.clock.Now())
	}
	return c.decode(cl, resp.StatusCode, body)
}

// contextTokenSource is implemented by token sources whose refresh can be
// cancelled (our TokenSource); a plain oauth2.TokenSource cannot be.
type contextTokenSource interface {
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// token fetches the bearer token, letting ctx bound a refresh when possible.
func (c *Client) token(ctx context.Context) (*oauth2.Token, error) {
	if ts, ok := c.ts.(contextTokenSource); ok {
		return ts.TokenContext(ctx)
	}
	return c.ts.Token()
}

// record meters one attempt and writes the per-request debug line. The URL,
// its query, the token and the body stay out of the log on purpose.
func (c *Client) record(cl call, status int, at time.Time, d time.Duration) {
	if c.recorder != nil {
		c.recorder.Record(Request{
			Endpoint: cl.endpoint,
			Category: CategoryOf(cl.endpoint),
			Status:   status,
			Device:   cl.device,
			At:       at,
			Duration: d,
		})
	}
	c.log.Debug().Str("endpoint", cl.endpoint).Str("device", cl.device).
		Int("status", status).Dur("duration", d).Msg("fleet api request")
}

// readLimited reads at most limit bytes; one byte more means ErrTooLarge.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}

// stripURL drops the *url.Error wrapper, whose text carries the full URL and
// query, so errors can be logged safely.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// transportError classifies a failure without (or after) the status line.
func transportError(endpoint string, status int, err error) error {
	cause := stripURL(err)
	// A failure after the status line (status != 0) came after the request.
	notSent := status == 0 && unsent(cause)
	var ne net.Error
	if errors.Is(cause, context.DeadlineExceeded) || (errors.As(cause, &ne) && ne.Timeout()) {
		return &APIError{Endpoint: endpoint, Status: status, Kind: ErrTimeout, Unsent: notSent}
	}
	return &APIError{Endpoint: endpoint, Status: status, Message: trimMessage(cause.Error()), Kind: ErrNetwork, Unsent: notSent}
}

// decode unwraps the envelope of a 2xx response into cl.out.
func (c *Client) decode(cl call, status int, body []byte) error {
	if cl.out == nil {
		return nil // e.g. energy commands: any 2xx is success, the body is undocumented
	}
	malformed := func(msg string) error {
		return &APIError{Endpoint: cl.endpoint, Status: status, Message: trimMessage(msg), Kind: ErrMalformed}
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return malformed("invalid JSON: " + err.Error())
	}
	raw := bytes.TrimSpace(env.Response)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if cl.nullOK {
			return nil
		}
		return malformed("response is missing or null")
	}
	fields, err := decodeLenient(raw, cl.out)
	if err != nil {
		return malformed(err.Error())
	}
	if len(fields) > 0 {
		c.log.Warn().Str("endpoint", cl.endpoint).Strs("fields", fields).
			Msg("fleet api sent fields of an unexpected type; ignored them")
		if d, ok := cl.out.(droppedSetter); ok {
			d.setDropped(fields)
		}
	}
	return nil
}

// droppedSetter is a response type that wants to know which fields
// decodeLenient left out.
type droppedSetter interface{ setDropped(fields []string) }

// decodeLenient decodes raw into out, tolerating fields of an unexpected
// type: Tesla changes field types between firmware versions, and losing one
// field beats losing the whole poll. encoding/json would skip such a field
// but still allocate its pointer, turning "unknown" into a zero value, so
// the offending fields are removed from the document and it is decoded
// again; they end up nil. It returns the paths of the removed fields. A
// top-level type mismatch is an error.
func decodeLenient(raw []byte, out any) ([]string, error) {
	err := json.Unmarshal(raw, out)
	var ute *json.UnmarshalTypeError
	if !errors.As(err, &ute) || ute.Field == "" {
		return nil, err
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep number literals exact when re-encoding
	if dec.Decode(&tree) != nil {
		return nil, err
	}
	var fields []string
	for range maxDriftFields {
		field, value := ute.Field, ute.Value
		if !dropField(tree, strings.Split(field, "."), value) {
			break
		}
		fields = appendUnique(fields, field)
		clean, merr := json.Marshal(tree)
		if merr != nil {
			break
		}
		reflect.ValueOf(out).Elem().SetZero()
		err = json.Unmarshal(clean, out)
		if err == nil {
			return fields, nil
		}
		if !errors.As(err, &ute) || ute.Field == "" {
			break
		}
	}
	// Could not isolate the field: keep encoding/json's best effort.
	fields = appendUnique(fields, ute.Field)
	reflect.ValueOf(out).Elem().SetZero()
	_ = json.Unmarshal(raw, out)
	return fields, nil
}

// dropField deletes, in the generic JSON tree, the values at path whose JSON
// kind matches value (UnmarshalTypeError.Value: "string", "number 1.5"…).
// Array indices and Go map keys (vehicle_info's VINs) are not part of
// UnmarshalTypeError.Field, so arrays are searched element-wise and an
// object without the expected key is searched one level down.
func dropField(node any, path []string, value string) bool {
	switch n := node.(type) {
	case []any:
		dropped := false
		for _, e := range n {
			dropped = dropField(e, path, value) || dropped
		}
		return dropped
	case map[string]any:
		dropped, matched := false, false
		for k, v := range n {
			if !strings.EqualFold(k, path[0]) { // encoding/json matches keys case-insensitively
				continue
			}
			matched = true
			if len(path) > 1 {
				dropped = dropField(v, path[1:], value) || dropped
			} else if kindMatches(v, value) {
				delete(n, k)
				dropped = true
			}
		}
		if !matched {
			for _, v := range n {
				if _, ok := v.(map[string]any); ok {
					dropped = dropField(v, path, value) || dropped
				}
			}
		}
		return dropped
	}
	return false
}

// kindMatches reports whether the generic JSON value v is what an
// UnmarshalTypeError.Value describes.
func kindMatches(v any, value string) bool {
	kind, literal, _ := strings.Cut(value, " ")
	switch x := v.(type) {
	case string:
		return kind == "string"
	case bool:
		return kind == "bool"
	case json.Number:
		return kind == "number" && (literal == "" || literal == string(x))
	case map[string]any:
		return kind == "object"
	case []any:
		return kind == "array"
	}
	return false
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}
