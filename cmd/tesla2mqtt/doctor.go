package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tesla2mqtt/tesla2mqtt/config"
	"github.com/tesla2mqtt/tesla2mqtt/fleet"
	"github.com/tesla2mqtt/tesla2mqtt/internal/clock"
)

// doctor runs the onboarding checks, one line each. It never refreshes the
// token: a refresh rotates the refresh token, and a bridge running at the
// same time would then hold a dead one.
type doctor struct {
	w      io.Writer
	cfg    *config.Config
	path   string
	now    func() time.Time
	hc     *http.Client
	failed int
}

func (d *doctor) pass(name, format string, a ...any) {
	fmt.Fprintf(d.w, "✓ %-12s %s\n", name, fmt.Sprintf(format, a...))
}

func (d *doctor) fail(name, detail, remedy string) {
	d.failed++
	fmt.Fprintf(d.w, "✗ %-12s %s\n", name, detail)
	if remedy != "" {
		fmt.Fprintf(d.w, "  %-12s fix: %s\n", "", remedy)
	}
}

func cmdDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("doctor", "usage: tesla2mqtt doctor -c FILE\n\nChecks the setup: config, broker, token, scopes, region, registration, hosted\npublic key and per car key pairing. Exit code 0 only when every check passes.", stderr)
	path := fs.String("c", "config.toml", "config file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	d := &doctor{w: stdout, path: *path, now: clock.Real().Now, hc: &http.Client{Timeout: 15 * time.Second}}
	return d.run(ctx)
}

func (d *doctor) run(ctx context.Context) error {
	cfg, err := config.Load(d.path)
	if err != nil {
		probs := config.Problems(err)
		detail := err.Error()
		if len(probs) > 0 {
			detail = fmt.Sprintf("%d problem(s): %s", len(probs), probs[0])
		}
		d.fail("config", detail, "tesla2mqtt check-config -c "+d.path+" lists them all")
		return &exitError{code: 1, err: errors.New("doctor: the config must be fixed first")}
	}
	d.cfg = cfg
	d.pass("config", "%s is valid", d.path)
	d.checkBroker()
	d.checkApp()
	tok := d.checkToken()
	api := d.checkRegion(ctx, tok)
	local := d.checkLocalKey()
	d.checkRegistration(ctx, local)
	d.checkHostedKey(ctx, local)
	d.checkCars(ctx, api)
	if cfg.Tesla.Domain != "" {
		link := fleet.PairingURL(cfg.Tesla.Domain, "")
		fmt.Fprintf(d.w, "\nPair the key with a car: open %s on the phone with the Tesla app\n(or scan this code):\n\n", link)
		printQR(d.w, link)
	}
	if d.failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d check(s) failed", d.failed)}
	}
	fmt.Fprintln(d.w, "\nAll checks passed.")
	return nil
}

func (d *doctor) checkBroker() {
	if u := d.cfg.MQTT.URL; u != "" {
		pu, err := url.Parse(u)
		if err != nil {
			d.fail("broker", "mqtt.url cannot be parsed", "write it as tcp://host:1883")
			return
		}
		addr := pu.Host
		if pu.Port() == "" {
			port := "1883"
			if pu.Scheme == "ssl" || pu.Scheme == "tls" || pu.Scheme == "mqtts" {
				port = "8883"
			}
			addr = net.JoinHostPort(pu.Hostname(), port)
		}
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			d.fail("broker", fmt.Sprintf("cannot reach %s: %v", addr, err), "start the broker or fix mqtt.url")
			return
		}
		c.Close()
		d.pass("broker", "%s reachable", addr)
		return
	}
	ln, err := net.Listen("tcp", d.cfg.Broker.Addr)
	if err != nil {
		d.fail("broker", fmt.Sprintf("embedded broker address %s is taken: %v", d.cfg.Broker.Addr, err),
			"stop whatever listens there (a running tesla2mqtt is fine to ignore) or change broker.addr")
		return
	}
	ln.Close()
	d.pass("broker", "embedded broker address %s is free", d.cfg.Broker.Addr)
}

func (d *doctor) checkApp() {
	t := d.cfg.Tesla
	var missing []string
	if t.ClientID == "" {
		missing = append(missing, "client_id")
	}
	if t.ClientSecret == "" {
		missing = append(missing, "client_secret")
	}
	if t.Domain == "" {
		missing = append(missing, "domain")
	}
	if len(missing) > 0 {
		d.fail("app", "[tesla] lacks "+strings.Join(missing, ", "), "copy them from your app on developer.tesla.com")
		return
	}
	d.pass("app", "client id, secret and domain %s configured", t.Domain)
}

// checkToken reports presence, expiry and scopes; the token is returned
// for the API checks only while its access token is still valid.
func (d *doctor) checkToken() *fleet.Token {
	store := fleet.NewFileTokenStore(d.cfg.TokenDir())
	tok, err := store.Load()
	if err != nil {
		d.fail("token", err.Error(), "tesla2mqtt login -c "+d.path)
		return nil
	}
	c, err := fleet.ParseClaims(tok.AccessToken)
	if err != nil {
		d.fail("token", "the stored access token cannot be read", "tesla2mqtt login -c "+d.path)
		return nil
	}
	if tok.RefreshToken == "" {
		d.fail("token", "no refresh token: the login lapses within hours", "grant offline_access: tesla2mqtt login -c "+d.path)
	} else {
		d.pass("token", "present in %s (mode 0600), refresh token stored", store.Path())
	}
	valid := d.now().Before(tok.Expiry)
	if valid {
		d.pass("expiry", "access token valid until %s", tok.Expiry.Local().Format(time.RFC1123))
	} else {
		d.fail("expiry", "access token expired at "+tok.Expiry.Local().Format(time.RFC1123)+"; the checks that call Tesla are skipped",
			"start the bridge (tesla2mqtt run), which refreshes it, then run doctor again; doctor does not refresh, so it never races a running bridge")
	}
	missing := fleet.MissingScopes(c.Scopes, d.cfg.Tesla.Scopes)
	if len(missing) == 0 {
		d.pass("scopes", "all %d requested scopes granted", len(d.cfg.Tesla.Scopes))
	} else {
		var parts []string
		for _, s := range missing {
			si, _ := fleet.LookupScope(s)
			parts = append(parts, s+" ("+si.Disables+")")
		}
		d.fail("scopes", "missing: "+strings.Join(parts, "; "),
			"tesla2mqtt login -c "+d.path+" and tick them, or review at "+fleet.ConsentURL(d.cfg.Tesla.ClientID, ""))
	}
	if !valid {
		return nil
	}
	return tok
}

// checkRegion confirms the token's region with /api/1/users/region and
// returns a client for the account's host (nil without a usable token).
func (d *doctor) checkRegion(ctx context.Context, tok *fleet.Token) *fleet.Client {
	if tok == nil {
		d.fail("region", "not checked without a valid token", "")
		return nil
	}
	base := apiBaseURL(d.cfg, tok)
	api, err := fleet.New(fleet.Options{BaseURL: base, UserAgent: userAgent(),
		TokenSource: oauth2.StaticTokenSource(tok.OAuth2())})
	if err != nil {
		d.fail("region", err.Error(), "")
		return nil
	}
	reg, err := api.UserRegion(ctx)
	var ae *fleet.APIError
	switch {
	case errors.As(err, &ae) && errors.Is(err, fleet.ErrWrongRegion):
		d.fail("region", fmt.Sprintf("%s answered 421: the account lives at %s", base, ae.BaseURL),
			"set tesla.region to match, or leave it on auto (the bridge follows 421 once)")
		return nil
	case errors.Is(err, fleet.ErrMissingScopes):
		d.pass("region", "%s from the token (users/region needs user_data)", strings.ToUpper(tok.Region))
	case err != nil:
		d.fail("region", fmt.Sprintf("/api/1/users/region at %s: %v", base, err), "check the network and tesla.api_base_url")
		return nil
	case d.cfg.Tesla.Region != "auto" && !strings.EqualFold(reg.Region, d.cfg.Tesla.Region):
		d.fail("region", fmt.Sprintf("the account is in %q but tesla.region is %q", reg.Region, d.cfg.Tesla.Region),
			`set tesla.region = "auto"`)
	default:
		d.pass("region", "%s, Fleet API at %s", reg.Region, api.BaseURL())
	}
	return api
}

func (d *doctor) checkLocalKey() []byte {
	if d.cfg.Tesla.PrivateKeyFile == "" {
		d.fail("key", "tesla.private_key_file is not set", "tesla2mqtt keygen --out keys, then set tesla.private_key_file")
		return nil
	}
	pub, err := localPublicKey(d.cfg)
	if err != nil {
		d.fail("key", err.Error(), "fix the file or its mode (chmod 600), or create one with tesla2mqtt keygen")
		return nil
	}
	d.pass("key", "%s is a P-256 key", d.cfg.Tesla.PrivateKeyFile)
	return pub
}

// checkRegistration reads back the registered key in the account's region.
func (d *doctor) checkRegistration(ctx context.Context, local []byte) {
	if d.cfg.Tesla.ClientSecret == "" || d.cfg.Tesla.Domain == "" {
		d.fail("registered", "not checked without the client secret and domain", "")
		return
	}
	base := configuredAPIBase(d.cfg)
	if base == "" {
		base = apiBaseURL(d.cfg, nil)
		if tok, err := fleet.NewFileTokenStore(d.cfg.TokenDir()).Load(); err == nil {
			base = apiBaseURL(d.cfg, tok)
		}
	}
	client, err := partnerClient(ctx, d.cfg, base)
	if err != nil {
		d.fail("registered", "partner token: "+err.Error(), registerRemedy(d.cfg, err))
		return
	}
	remote, err := client.PartnerPublicKey(ctx, d.cfg.Tesla.Domain)
	switch {
	case err != nil:
		d.fail("registered", fmt.Sprintf("%s at %s: %v", d.cfg.Tesla.Domain, base, err), "tesla2mqtt register -c "+d.path)
	case local != nil && !fleet.SamePublicKey(remote, local):
		d.fail("registered", "Tesla holds another public key for "+d.cfg.Tesla.Domain,
			"host your public key at "+publicKeyURL(d.cfg)+", then tesla2mqtt register -c "+d.path)
	default:
		d.pass("registered", "%s registered at %s with your key", d.cfg.Tesla.Domain, base)
	}
}

// checkHostedKey fetches the public key where Tesla fetches it, without
// following redirects (Tesla's fetch does not either).
func (d *doctor) checkHostedKey(ctx context.Context, local []byte) {
	if d.cfg.Tesla.Domain == "" && d.cfg.Tesla.PublicKeyURL == "" {
		d.fail("hosted key", "no tesla.domain", "")
		return
	}
	u := publicKeyURL(d.cfg)
	hc := *d.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		d.fail("hosted key", err.Error(), "fix tesla.public_key_url")
		return
	}
	resp, err := hc.Do(req)
	if err != nil {
		d.fail("hosted key", fmt.Sprintf("cannot fetch %s: %v", u, err), "serve public-key.pem there over HTTPS")
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 3:
		d.fail("hosted key", fmt.Sprintf("%s redirects (HTTP %d)", u, resp.StatusCode), "serve the file directly; Tesla does not follow redirects")
	case resp.StatusCode != http.StatusOK:
		d.fail("hosted key", fmt.Sprintf("%s answered HTTP %d", u, resp.StatusCode), "serve public-key.pem at exactly that path")
	case local != nil && !fleet.SamePublicKey(body, local):
		d.fail("hosted key", u+" holds another key than tesla.private_key_file", "replace it with your public-key.pem")
	default:
		d.pass("hosted key", "%s serves your public key", u)
	}
}

// checkCars asks fleet_status for every car: paired, signing required.
func (d *doctor) checkCars(ctx context.Context, api *fleet.Client) {
	if api == nil {
		d.fail("cars", "not checked without a valid token", "")
		return
	}
	vehicles, err := api.Vehicles(ctx)
	if err != nil {
		d.fail("cars", "list vehicles: "+err.Error(), "")
		return
	}
	if len(vehicles) == 0 {
		d.pass("cars", "no cars on the account")
		return
	}
	vins := make([]string, 0, len(vehicles))
	names := map[string]string{}
	for _, v := range vehicles {
		vins = append(vins, v.VIN)
		names[v.VIN] = v.DisplayName
	}
	sort.Strings(vins)
	st, err := api.FleetStatus(ctx, vins)
	if err != nil {
		d.fail("cars", "fleet_status: "+err.Error(), "")
		return
	}
	for _, vin := range vins {
		label := fmt.Sprintf("%s (%s)", names[vin], vin)
		required := st.VehicleInfo[vin].VehicleCommandProtocolRequired
		paired := st.KeyPaired(vin)
		signing := "accepts plain REST commands"
		if required {
			signing = "requires signed commands"
		}
		switch {
		case paired:
			d.pass("car", "%s: key paired; %s", label, signing)
		case required:
			d.fail("car", fmt.Sprintf("%s: key not paired; %s, so commands fail", label, signing),
				"open "+fleet.PairingURL(d.cfg.Tesla.Domain, vin)+" on the phone with the Tesla app, near the car")
		default:
			d.pass("car", "%s: key not paired (not needed: it %s)", label, signing)
		}
	}
}
