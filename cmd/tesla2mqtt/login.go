package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// authConfig maps [tesla] onto the OAuth settings. The audience is the
// configured API host or region; with region "auto" it is left empty and
// fleet.Exchange derives it from the code's region prefix.
func authConfig(cfg *config.Config) fleet.AuthConfig {
	ac := fleet.AuthConfig{
		ClientID:     cfg.Tesla.ClientID,
		ClientSecret: cfg.Tesla.ClientSecret,
		RedirectURI:  cfg.Tesla.RedirectURI,
		Scopes:       cfg.Tesla.Scopes,
		Audience:     configuredAPIBase(cfg),
	}
	if b := strings.TrimRight(cfg.Tesla.AuthBaseURL, "/"); b != "" {
		ac.AuthorizeURL = b + "/oauth2/v3/authorize"
		ac.TokenURL = b + "/oauth2/v3/token"
	}
	return ac
}

// configuredAPIBase is the Fleet API host the config pins, "" for auto.
func configuredAPIBase(cfg *config.Config) string {
	if cfg.Tesla.APIBaseURL != "" {
		return strings.TrimRight(cfg.Tesla.APIBaseURL, "/")
	}
	if cfg.Tesla.Region != "" && cfg.Tesla.Region != "auto" {
		return fleet.BaseURLForRegion(cfg.Tesla.Region)
	}
	return ""
}

// loginParams is one login; tests fill in browse and stdin.
type loginParams struct {
	cfg        *config.Config
	configPath string
	paste      bool
	stdin      io.Reader
	out        io.Writer
	// browse opens the authorize URL (nil: only print it).
	browse func(authURL string) error
	now    func() time.Time
}

func cmdLogin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("login", "usage: tesla2mqtt login -c FILE [--no-browser] [--paste]\n\nSigns in to Tesla with the scopes of the config and saves the token (mode 0600)\nin the state directory. A running bridge picks the new token up by itself.", stderr)
	path := fs.String("c", "config.toml", "config file")
	noBrowser := fs.Bool("no-browser", false, "only print the URL to open; do not start a browser")
	paste := fs.Bool("paste", false, "no callback server: paste the URL the browser was sent to (for a machine without a browser)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up waiting for the browser after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadStateConfig(*path)
	if err != nil {
		return err
	}
	p := loginParams{cfg: cfg, configPath: *path, paste: *paste, stdin: os.Stdin, out: stdout, now: clock.Real().Now}
	if !*noBrowser && !*paste {
		p.browse = openBrowser
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	_, err = runLogin(ctx, p)
	return err
}

// runLogin runs the authorization-code flow, saves the token and prints
// what was granted. The code, the verifier and the tokens are never printed.
func runLogin(ctx context.Context, p loginParams) (*fleet.Token, error) {
	cfg := p.cfg
	if cfg.Tesla.ClientID == "" {
		return nil, usageErr("tesla.client_id is empty in %s: copy it from your app on developer.tesla.com", p.configPath)
	}
	ac := authConfig(cfg)
	req, err := fleet.NewAuthRequest(ac)
	if err != nil {
		return nil, err
	}
	var redirected string
	if p.paste {
		fmt.Fprintf(p.out, "Open this URL in a browser on any machine and sign in to Tesla:\n\n  %s\n\n", req.URL())
		fmt.Fprintf(p.out, "The browser then goes to %s… and may show an error page; that is expected.\nCopy the whole address from the address bar and paste it here:\n> ", cfg.Tesla.RedirectURI)
		redirected, err = readLine(ctx, p.stdin)
		if err != nil {
			return nil, err
		}
	} else {
		redirected, err = awaitCallback(ctx, cfg.Tesla.RedirectURI, req, p)
		if err != nil {
			return nil, err
		}
	}
	code, err := req.CodeFromRedirect(redirected)
	if err != nil {
		return nil, err
	}
	return finishLogin(ctx, p, ac, req, code)
}

// finishLogin exchanges the code, saves the token and prints the summary.
func finishLogin(ctx context.Context, p loginParams, ac fleet.AuthConfig, req *fleet.AuthRequest, code string) (*fleet.Token, error) {
	tok, err := fleet.Exchange(ctx, ac, req, code, p.now())
	if err != nil {
		return nil, err
	}
	store := fleet.NewFileTokenStore(p.cfg.TokenDir())
	if err := store.Save(tok); err != nil {
		return nil, err
	}
	printLoginSummary(p.out, p.cfg, p.configPath, store.Path(), tok)
	return tok, nil
}

// readLine reads one line, giving up with ctx.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	type res struct {
		s   string
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := bufio.NewReader(r).ReadString('\n')
		if err == io.EOF && strings.TrimSpace(s) != "" {
			err = nil
		}
		ch <- res{strings.TrimSpace(s), err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return "", fmt.Errorf("reading the pasted URL: %w", r.err)
		}
		return r.s, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no URL pasted: %w", ctx.Err())
	}
}

// awaitCallback serves the redirect URI locally and returns the URL the
// browser came back with. A request with a stale state is answered with an
// error page and ignored, so an old tab cannot end the login.
func awaitCallback(ctx context.Context, redirectURI string, req *fleet.AuthRequest, p loginParams) (string, error) {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", usageErr("tesla.redirect_uri %q is not an http:// address this machine can serve; use --paste", redirectURI)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", usageErr("cannot listen on %s for the login callback (%v); free the port or use --paste", addr, err)
	}
	path := u.Path
	if path == "" {
		path = "/"
	}
	got := make(chan string, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		full := redirectURI + "?" + r.URL.RawQuery
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if _, err := req.CodeFromRedirect(full); errors.Is(err, fleet.ErrStateMismatch) {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<p>%s</p>", html.EscapeString(err.Error()))
			fmt.Fprintln(p.out, "Ignored a callback from another login attempt (stale browser tab?); still waiting.")
			return
		} else if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<p>Login failed: %s</p><p>Return to the terminal.</p>", html.EscapeString(err.Error()))
		} else {
			fmt.Fprint(w, "<p>tesla2mqtt is signed in. You can close this tab and return to the terminal.</p>")
		}
		select {
		case got <- full:
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer stopHTTP(ctx, srv, time.Second)

	authURL := req.URL()
	fmt.Fprintf(p.out, "Open this URL in a browser and sign in to Tesla:\n\n  %s\n\nWaiting for Tesla to send the browser back to %s …\n", authURL, redirectURI)
	if p.browse != nil {
		if err := p.browse(authURL); err != nil {
			fmt.Fprintln(p.out, "(Could not start a browser; open the URL yourself.)")
		}
	}
	select {
	case full := <-got:
		return full, nil
	case <-ctx.Done():
		return "", fmt.Errorf("no callback from the browser: %w (on a machine without a browser, use --paste)", ctx.Err())
	}
}

// openBrowser starts the desktop's browser; failure is fine, the URL is printed.
func openBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		cmd = exec.Command("open", u)
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// printLoginSummary says what was granted, what is missing and what that
// disables, and what to do next.
func printLoginSummary(w io.Writer, cfg *config.Config, configPath, tokenPath string, tok *fleet.Token) {
	fmt.Fprintf(w, "\nSigned in to Tesla. Token saved to %s (mode 0600).\n", tokenPath)
	region := tok.Region
	if region == "" {
		region = "unknown"
	}
	fmt.Fprintf(w, "  region:        %s\n", region)
	fmt.Fprintf(w, "  access token:  valid until %s; the bridge refreshes it by itself\n", tok.Expiry.Local().Format(time.RFC1123))
	var granted []string
	if c, err := fleet.ParseClaims(tok.AccessToken); err == nil {
		granted = c.Scopes
	}
	missing := fleet.MissingScopes(granted, cfg.Tesla.Scopes)
	fmt.Fprintf(w, "\nGranted scopes (%d of %d requested):\n", len(cfg.Tesla.Scopes)-len(missing), len(cfg.Tesla.Scopes))
	for _, s := range cfg.Tesla.Scopes {
		if !loginHasScope(missing, s) {
			title := ""
			if si, ok := fleet.LookupScope(s); ok {
				title = si.Title
			}
			fmt.Fprintf(w, "  ✓ %-22s %s\n", s, title)
		}
	}
	consent := fleet.ConsentURL(cfg.Tesla.ClientID, "")
	if len(missing) > 0 {
		fmt.Fprintf(w, "\nMissing scopes (%d) and what the bridge cannot do without them:\n", len(missing))
		for _, s := range missing {
			si, _ := fleet.LookupScope(s)
			fmt.Fprintf(w, "  ✗ %-22s %s: %s\n", s, si.Title, si.Disables)
		}
		fmt.Fprintf(w, "\nTo grant them, run 'tesla2mqtt login -c %s' again (Tesla asks for the missing ones),\nor review the app's access at %s\n", configPath, consent)
	} else {
		fmt.Fprintf(w, "\nTo review or revoke this access later: %s\n", consent)
	}
	fmt.Fprintf(w, "\nNext:\n  tesla2mqtt doctor -c %s   checks registration, keys and pairing\n  tesla2mqtt run -c %s      starts the bridge (a running bridge picks this token up within 30 s)\n", configPath, configPath)
}

func loginHasScope(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loginHeadless runs the flow without a browser: it follows the authorize
// redirects itself and stops at the one to the redirect URI. Only an
// authorize endpoint that consents at once (fleetsim) allows that; the demo
// uses it so that the login code runs in every demo.
func loginHeadless(ctx context.Context, p loginParams) (*fleet.Token, error) {
	ac := authConfig(p.cfg)
	req, err := fleet.NewAuthRequest(ac)
	if err != nil {
		return nil, err
	}
	redirect := p.cfg.Tesla.RedirectURI
	hc := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), redirect) || len(via) >= 10 {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("authorize: %w", err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, redirect) {
		return nil, fmt.Errorf("authorize: HTTP %d without a redirect to %s", resp.StatusCode, redirect)
	}
	code, err := req.CodeFromRedirect(loc)
	if err != nil {
		return nil, err
	}
	return finishLogin(ctx, p, ac, req, code)
}
